import FormControl from "@mui/material/FormControl";
import FormHelperText from "@mui/material/FormHelperText";
import InputLabel from "@mui/material/InputLabel";
import OutlinedInput from "@mui/material/OutlinedInput";
import type { SxProps, Theme } from "@mui/material/styles";
import type { ChangeEvent, InputHTMLAttributes, ReactNode, Ref } from "react";

export interface TextFieldProps {
  id: string;
  label: ReactNode;
  value: string;
  onChange: (event: ChangeEvent<HTMLInputElement>) => void;
  type?: string;
  autoComplete?: string;
  autoFocus?: boolean;
  required?: boolean;
  disabled?: boolean;
  error?: boolean;
  helperText?: ReactNode;
  fullWidth?: boolean;
  size?: "small" | "medium";
  sx?: SxProps<Theme>;
  inputRef?: Ref<HTMLInputElement>;
  /** Attributes of the `<input>` itself (as MUI's `slotProps.htmlInput`). */
  slotProps?: { htmlInput?: InputHTMLAttributes<HTMLInputElement> & Record<`data-${string}`, string> };
}

/**
 * An outlined text field with its label and helper text: MUI's TextField without its `select`
 * mode, whose menu, popover and modal the login page would otherwise download.
 */
export function TextField({ id, label, helperText, slotProps, fullWidth, size, sx, error, disabled, required, onChange, ...input }: TextFieldProps) {
  const helperId = helperText ? `${id}-helper-text` : undefined;
  return (
    <FormControl variant="outlined" fullWidth={fullWidth} size={size} sx={sx} error={error} disabled={disabled} required={required}>
      <InputLabel htmlFor={id}>{label}</InputLabel>
      <OutlinedInput
        id={id}
        label={label}
        onChange={onChange as (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => void}
        inputProps={{ ...slotProps?.htmlInput, "aria-describedby": helperId }}
        {...input}
      />
      {helperText && (
        // An error under the field is announced as it appears.
        <FormHelperText id={helperId} role={error ? "alert" : undefined}>
          {helperText}
        </FormHelperText>
      )}
    </FormControl>
  );
}
