import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../../api/messages";
import type { Challenge } from "../../api/types";
import { deviceTokenFor } from "../../auth/deviceTokens";
import { ignoreCapture } from "@bbauth/capture";
import { useChallengeRequest } from "./useChallengeRequest";

export interface SignInFormProps {
  onChallenge: (challenge: Challenge) => void;
  onCreateAccount: () => void;
}

/** Email and password; a browser that signed in to the account before sends its device token. */
export function SignInForm({ onChallenge, onCreateAccount }: SignInFormProps) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, problem, send } = useChallengeRequest(onChallenge);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const deviceToken = deviceTokenFor(email);
    const body = deviceToken ? { email, password, device_token: deviceToken } : { email, password };
    void send("/api/auth/login", body, () => setPassword(""));
  };

  const emailError = problem?.fieldError("email") ?? null;
  const message =
    error === null || emailError
      ? null
      : problem?.code === "invalid_credentials"
        ? "Wrong email or password."
        : errorMessage(error);

  return (
    <Stack component="form" spacing={2} onSubmit={submit} {...ignoreCapture} aria-label="Sign in">
      {message && (
        <Alert severity="error" data-testid="login-error">
          {message}
        </Alert>
      )}
      <TextField
        id="login-email"
        label="Email"
        type="email"
        autoComplete="username"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
        autoFocus
        error={Boolean(emailError)}
        helperText={emailError}
        slotProps={{ htmlInput: { "data-testid": "login-email" } }}
      />
      <TextField
        id="login-password"
        label="Password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        required
        slotProps={{ htmlInput: { "data-testid": "login-password" } }}
      />
      <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="login-submit">
        Continue
      </Button>
      <Link component="button" type="button" onClick={onCreateAccount} data-testid="show-sign-up">
        Create an account
      </Link>
    </Stack>
  );
}
