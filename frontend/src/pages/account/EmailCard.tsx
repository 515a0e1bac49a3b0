import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { api, ApiError } from "../../api/client";
import type { Challenge, User } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { ignoreCapture } from "@bbauth/capture";
import { OtpField } from "../../components/OtpField";
import { FormField } from "../../components/FormField";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";

/** Moving the account to a new address: a code goes there, and comes back here. */
export function EmailCard() {
  const { user, updateUser } = useAuth();
  const [email, setEmail] = useState("");
  const [emailError, setEmailError] = useState<string | null>(null);
  const [sent, setSent] = useState<Challenge | null>(null);
  const [code, setCode] = useState("");
  const action = useAction();

  const start = (e: FormEvent) => {
    e.preventDefault();
    setEmailError(null);
    return action.run(async () => {
      try {
        setSent(await api.post<Challenge>("/api/account/email", { email }));
        setCode("");
      } catch (err) {
        const onField = err instanceof ApiError ? err.fieldError("email") : null;
        if (!onField) throw err;
        setEmailError(onField);
      }
    });
  };

  const confirm = (e: FormEvent) => {
    e.preventDefault();
    return action.run(async () => {
      try {
        const moved = await api.post<User>("/api/account/email/confirm", { code });
        updateUser(moved);
        setSent(null);
        setEmail("");
        return `Your account's address is now ${moved.email}. The old address was told.`;
      } finally {
        setCode("");
      }
    });
  };

  const cancel = () => {
    setSent(null);
    setCode("");
    action.reset();
  };

  return (
    <Paper sx={{ p: 3 }} data-testid="email-card">
      <Typography variant="h6" component="h2" gutterBottom>
        Email address
      </Typography>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        Currently <b>{user?.email}</b>. Codes and security notices go there.
      </Typography>
      <ActionAlerts action={action} testId="email" />
      {!sent ? (
        <Stack component="form" onSubmit={start} {...ignoreCapture} direction="row" spacing={1} alignItems="flex-start" aria-label="Change email">
          <FormField
            id="new-email"
            label="New email address"
            type="email"
            autoComplete="email"
            value={email}
            onValue={setEmail}
            required
            size="small"
            problem={emailError}
            sx={{ minWidth: 280 }}
          />
          <Button type="submit" variant="outlined" disabled={action.busy}>
            Send code
          </Button>
        </Stack>
      ) : (
        <Stack component="form" onSubmit={confirm} {...ignoreCapture} spacing={1.5} sx={{ maxWidth: 360 }} aria-label="Confirm new email">
          <Typography data-testid="email-destination">
            We sent a 6-digit code to {sent.destination}. Enter it to move your account there.
          </Typography>
          <OtpField id="email-code" value={code} onChange={setCode} disabled={action.busy} />
          <Stack direction="row" spacing={1}>
            <Button type="submit" variant="contained" disabled={action.busy || code.length !== 6}>
              Confirm new address
            </Button>
            <Button onClick={cancel} disabled={action.busy}>
              Cancel
            </Button>
          </Stack>
        </Stack>
      )}
    </Paper>
  );
}
