import { useEffect, useRef } from "react";
import { TextField } from "./TextField";
import { ignoreCapture } from "@bbauth/capture";

export interface OtpFieldProps {
  value: string;
  onChange: (value: string) => void;
  disabled?: boolean;
  autoFocus?: boolean;
  label?: string;
  error?: string | null;
  id?: string;
  /** Why the last answer failed when it is shown elsewhere (`error` shows it under the field). */
  failure?: string | null;
}

/** A 6-digit one-time code; never captured (data-bbauth-ignore). */
export function OtpField({ value, onChange, disabled, autoFocus, label = "6-digit code", error, id = "otp-code", failure }: OtpFieldProps) {
  const ref = useRef<HTMLInputElement>(null);
  const failed = error ?? failure ?? null;
  // After a refused code, focus comes back here (it fell to the page while the field was disabled).
  useEffect(() => {
    if (failed && !disabled) ref.current?.focus();
  }, [failed, disabled]);
  return (
    <TextField
      id={id}
      inputRef={ref}
      label={label}
      value={value}
      onChange={(e) => onChange(e.target.value.replace(/\D/g, "").slice(0, 6))}
      disabled={disabled}
      autoFocus={autoFocus}
      autoComplete="one-time-code"
      error={Boolean(error)}
      helperText={error ?? " "}
      fullWidth
      slotProps={{
        htmlInput: {
          ...ignoreCapture,
          inputMode: "numeric",
          pattern: "[0-9]{6}",
          maxLength: 6,
          "data-testid": id,
          style: { letterSpacing: "0.4em", fontSize: 22, fontFamily: "monospace" },
        },
      }}
    />
  );
}
