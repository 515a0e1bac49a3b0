import { TextField, type TextFieldProps } from "./TextField";

type Passed = Pick<TextFieldProps, "id" | "label" | "type" | "autoComplete" | "required" | "autoFocus" | "inputRef" | "size" | "sx" | "slotProps">;

export interface FormFieldProps extends Passed {
  value: string;
  onValue: (value: string) => void;
  /** Why the server refused this field; shown under it instead of `hint`. */
  problem?: string | null;
  /** What the field wants, under it while nothing is wrong. */
  hint?: string;
}

/** A form's text field: its value, and the server's word on it underneath. */
export function FormField({ value, onValue, problem, hint, ...passed }: FormFieldProps) {
  return <TextField {...passed} value={value} onChange={(e) => onValue(e.target.value)} error={Boolean(problem)} helperText={problem ?? hint} />;
}
