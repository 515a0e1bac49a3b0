import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import Divider from "@mui/material/Divider";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { errorMessage } from "../../api/messages";
import { passkeySignInError, passkeysAvailable, signInWithPasskey } from "../../api/passkeys";
import type { Challenge, TokenResponse } from "../../api/types";
import { deviceTokenFor } from "../../auth/deviceTokens";
import { ignoreCapture } from "@bbauth/capture";
import { LoginError } from "./LoginError";
import { useChallengeRequest } from "./useChallengeRequest";
import { FormField } from "../../components/FormField";

export interface SignInFormProps {
  onChallenge: (challenge: Challenge) => void;
  onCreateAccount: () => void;
  /** The deployment lets a passkey alone sign in (`BBAUTH_PASSKEY_LOGIN`): offer it. */
  passkeyLogin?: boolean;
  onSignedIn?: (response: TokenResponse) => void;
}

/**
 * Email and password; a browser that signed in to the account before sends its device token.
 * Where the deployment allows it, a passkey alone signs in instead (a discoverable credential).
 */
export function SignInForm({ onChallenge, onCreateAccount, passkeyLogin = false, onSignedIn }: SignInFormProps) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [passkeyError, setPasskeyError] = useState<string | null>(null);
  const [passkeyBusy, setPasskeyBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const { busy, error, problem, send } = useChallengeRequest(onChallenge);
  const offerPasskey = passkeyLogin && onSignedIn !== undefined && passkeysAvailable();

  const withPasskey = async () => {
    if (!onSignedIn) return;
    setPasskeyBusy(true);
    setPasskeyError(null);
    try {
      onSignedIn(await signInWithPasskey());
    } catch (err) {
      setPasskeyError(passkeySignInError(err));
      emailRef.current?.focus(); // back to the form: the password is the other way in
    } finally {
      setPasskeyBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setPasskeyError(null);
    const deviceToken = deviceTokenFor(email);
    const body = deviceToken ? { email, password, device_token: deviceToken } : { email, password };
    void send("/api/auth/login", body, () => setPassword(""));
  };

  const emailError = problem?.fieldError("email") ?? null;
  const message =
    passkeyError ??
    (error === null || emailError
      ? null
      : problem?.code === "invalid_credentials"
        ? "Wrong email or password."
        : errorMessage(error));

  // A refused attempt puts focus back on the field to fix (the button was disabled under it).
  useEffect(() => {
    if (emailError) emailRef.current?.focus();
    else if (error !== null) {
      passwordRef.current?.focus();
      passwordRef.current?.select();
    }
  }, [error, emailError]);

  return (
    <Stack component="form" spacing={2} onSubmit={submit} {...ignoreCapture} aria-label="Sign in">
      <LoginError message={message} />
      <FormField
        id="login-email"
        label="Email"
        type="email"
        autoComplete="username"
        value={email}
        onValue={setEmail}
        required
        autoFocus
        inputRef={emailRef}
        problem={emailError}
        slotProps={{ htmlInput: { "data-testid": "login-email" } }}
      />
      <FormField
        id="login-password"
        label="Password"
        type="password"
        autoComplete="current-password"
        value={password}
        onValue={setPassword}
        required
        inputRef={passwordRef}
        slotProps={{ htmlInput: { "data-testid": "login-password" } }}
      />
      <Button type="submit" variant="contained" size="large" disabled={busy || passkeyBusy} data-testid="login-submit">
        Continue
      </Button>
      {offerPasskey && (
        <>
          <Divider>or</Divider>
          <Button
            variant="outlined"
            size="large"
            onClick={() => void withPasskey()}
            disabled={busy || passkeyBusy}
            data-testid="passkey-only-sign-in"
          >
            Sign in with a passkey
          </Button>
        </>
      )}
      <Link component="button" type="button" onClick={onCreateAccount} data-testid="show-sign-up">
        Create an account
      </Link>
    </Stack>
  );
}
