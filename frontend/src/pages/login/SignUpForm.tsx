import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import { TextField } from "../../components/TextField";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../../api/messages";
import type { Challenge } from "../../api/types";
import { ignoreCapture } from "@bbauth/capture";
import { useChallengeRequest } from "./useChallengeRequest";

export interface SignUpFormProps {
  onChallenge: (challenge: Challenge) => void;
  onSignIn: () => void;
}

/** A new account: email, password and an optional name; the emailed code then confirms it. */
export function SignUpForm({ onChallenge, onSignIn }: SignUpFormProps) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const { busy, error, problem, send } = useChallengeRequest(onChallenge);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = { email, password, ...(name.trim() ? { display_name: name.trim() } : {}) };
    void send("/api/auth/register", body, () => setPassword(""));
  };

  const fields = {
    email: problem?.fieldError("email") ?? null,
    password: problem?.fieldError("password") ?? null,
    name: problem?.fieldError("display_name") ?? null,
  };
  const onFields = Object.values(fields).some(Boolean);
  const message = error === null || onFields ? null : errorMessage(error);

  return (
    <Stack component="form" spacing={2} onSubmit={submit} {...ignoreCapture} aria-label="Create an account">
      {message && (
        <Alert severity="error" data-testid="login-error">
          {message}
        </Alert>
      )}
      <TextField
        id="sign-up-email"
        label="Email"
        type="email"
        autoComplete="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
        autoFocus
        error={Boolean(fields.email)}
        helperText={fields.email}
        slotProps={{ htmlInput: { "data-testid": "sign-up-email" } }}
      />
      <TextField
        id="sign-up-password"
        label="Password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        required
        error={Boolean(fields.password)}
        helperText={fields.password ?? "At least 8 characters; a passphrase is best."}
        slotProps={{ htmlInput: { "data-testid": "sign-up-password", minLength: 8 } }}
      />
      <TextField
        id="sign-up-name"
        label="Name (optional)"
        autoComplete="name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        error={Boolean(fields.name)}
        helperText={fields.name}
        slotProps={{ htmlInput: { "data-testid": "sign-up-name", maxLength: 120 } }}
      />
      <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="sign-up-submit">
        Create account
      </Button>
      <Link component="button" type="button" onClick={onSignIn}>
        I have an account: sign in
      </Link>
    </Stack>
  );
}
