import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { api, ApiError } from "../../api/client";
import type { EndedSessions } from "../../api/types";
import { ignoreCapture } from "@bbauth/capture";
import { formatEndedSessions } from "../../format";
import { FormField } from "../../components/FormField";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";

interface FieldErrors {
  current?: string | null;
  next?: string | null;
  repeat?: string | null;
}

/** A new password (the current one proves it is the owner); every other session ends. */
export function PasswordCard() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [fields, setFields] = useState<FieldErrors>({});
  const action = useAction();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (next !== repeat) {
      setFields({ repeat: "The two new passwords differ." });
      return;
    }
    setFields({});
    return action.run(async () => {
      try {
        const answer = await api.post<EndedSessions>("/api/account/password", {
          current_password: current,
          new_password: next,
        });
        setCurrent("");
        setNext("");
        setRepeat("");
        return `Password changed. ${formatEndedSessions(answer.ended_sessions)}`;
      } catch (err) {
        const onField = fieldErrors(err);
        if (!onField) throw err;
        setFields(onField);
      }
    });
  };

  return (
    <Paper sx={{ p: 3 }} data-testid="password-card">
      <Typography variant="h6" component="h2" gutterBottom>
        Password
      </Typography>
      <ActionAlerts action={action} testId="password" />
      <Stack component="form" onSubmit={submit} {...ignoreCapture} spacing={2} sx={{ maxWidth: 360 }} aria-label="Change password">
        <FormField
          id="current-password"
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={current}
          onValue={setCurrent}
          required
          problem={fields.current}
        />
        <FormField
          id="new-password"
          label="New password"
          type="password"
          autoComplete="new-password"
          value={next}
          onValue={setNext}
          required
          problem={fields.next}
          hint="At least 8 characters; a passphrase is best."
          slotProps={{ htmlInput: { minLength: 8 } }}
        />
        <FormField
          id="repeat-password"
          label="New password again"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onValue={setRepeat}
          required
          problem={fields.repeat}
        />
        <Button type="submit" variant="contained" disabled={action.busy} sx={{ alignSelf: "flex-start" }}>
          Change password
        </Button>
      </Stack>
    </Paper>
  );
}

/** Errors that belong under a field: a wrong current password, a weak new one. */
function fieldErrors(err: unknown): FieldErrors | null {
  if (!(err instanceof ApiError)) return null;
  if (err.code === "invalid_credentials") return { current: err.detail };
  const weak = err.fieldError("new_password");
  if (weak) return { next: weak };
  const current = err.fieldError("current_password");
  return current ? { current } : null;
}
