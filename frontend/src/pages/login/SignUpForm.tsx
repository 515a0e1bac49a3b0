import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import { useState, type FormEvent } from "react";
import { errorMessage } from "../../api/messages";
import type { Challenge } from "../../api/types";
import { ignoreCapture } from "@bbauth/capture";
import { LoginError } from "./LoginError";
import { useChallengeRequest } from "./useChallengeRequest";
import { FormField } from "../../components/FormField";

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
      <LoginError message={message} />
      <FormField
        id="sign-up-email"
        label="Email"
        type="email"
        autoComplete="email"
        value={email}
        onValue={setEmail}
        required
        autoFocus
        problem={fields.email}
        slotProps={{ htmlInput: { "data-testid": "sign-up-email" } }}
      />
      <FormField
        id="sign-up-password"
        label="Password"
        type="password"
        autoComplete="new-password"
        value={password}
        onValue={setPassword}
        required
        problem={fields.password}
        hint="At least 8 characters; a passphrase is best."
        slotProps={{ htmlInput: { "data-testid": "sign-up-password", minLength: 8 } }}
      />
      <FormField
        id="sign-up-name"
        label="Name (optional)"
        autoComplete="name"
        value={name}
        onValue={setName}
        problem={fields.name}
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
