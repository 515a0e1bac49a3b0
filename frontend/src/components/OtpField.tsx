import Link from "@mui/material/Link";
import { useEffect, useRef, useState } from "react";
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
  /** An authenticator-app challenge: a recovery code may answer it instead. */
  allowRecovery?: boolean;
}

const SIX_DIGITS = /^\d{6}$/;
const RECOVERY_CODE = /^[a-z2-7]{5}-?[a-z2-7]{5}$/i;

/** Whether `code` can be sent: six digits, or the shape of a recovery code (`abcde-fgh23`). */
export function codeComplete(code: string): boolean {
  return SIX_DIGITS.test(code) || RECOVERY_CODE.test(code);
}

/** A 6-digit one-time code, or a recovery code when allowed; never captured (data-bbauth-ignore). */
export function OtpField({ value, onChange, disabled, autoFocus, label = "6-digit code", error, id = "otp-code", failure, allowRecovery }: OtpFieldProps) {
  const ref = useRef<HTMLInputElement>(null);
  const [recovery, setRecovery] = useState(false);
  const inRecovery = Boolean(allowRecovery) && recovery;
  const failed = error ?? failure ?? null;
  // After a refused code, focus comes back here (it fell to the page while the field was disabled).
  useEffect(() => {
    if (failed && !disabled) ref.current?.focus();
  }, [failed, disabled]);
  const toggle = () => {
    setRecovery(!recovery);
    onChange("");
    ref.current?.focus();
  };
  return (
    <>
      <TextField
        id={id}
        inputRef={ref}
        label={inRecovery ? "Recovery code" : label}
        value={value}
        onChange={(e) =>
          onChange(inRecovery ? e.target.value.toLowerCase().replace(/[^a-z2-7-]/g, "").slice(0, 11) : e.target.value.replace(/\D/g, "").slice(0, 6))
        }
        disabled={disabled}
        autoFocus={autoFocus}
        autoComplete={inRecovery ? "off" : "one-time-code"}
        error={Boolean(error)}
        helperText={error ?? (inRecovery ? "Each recovery code works once." : " ")}
        fullWidth
        slotProps={{
          htmlInput: {
            ...ignoreCapture,
            inputMode: inRecovery ? "text" : "numeric",
            pattern: inRecovery ? "[a-z2-7]{5}-?[a-z2-7]{5}" : "[0-9]{6}",
            maxLength: inRecovery ? 11 : 6,
            spellCheck: false,
            "data-testid": id,
            style: { letterSpacing: inRecovery ? "0.15em" : "0.4em", fontSize: 22, fontFamily: "monospace" },
          },
        }}
      />
      {allowRecovery && (
        <Link component="button" type="button" onClick={toggle} disabled={disabled} sx={{ alignSelf: "flex-start" }} data-testid={`${id}-recovery`}>
          {inRecovery ? "Use the app's code instead" : "Lost your authenticator app? Use a recovery code"}
        </Link>
      )}
    </>
  );
}
