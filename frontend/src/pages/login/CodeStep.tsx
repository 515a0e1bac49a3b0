import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { api, ApiError } from "../../api/client";
import { errorMessage } from "../../api/messages";
import { answerWithPasskey, passkeysAvailable } from "../../api/passkeys";
import type { Challenge, TokenResponse } from "../../api/types";
import { ignoreCapture } from "@bbauth/capture";
import { LoginError } from "./LoginError";
import { codeComplete, OtpField } from "../../components/OtpField";
import { useAttempt } from "../../components/useAttempt";
import { codeTerms } from "../../components/codeTerms";

export interface CodeStepProps {
  challenge: Challenge;
  onSignedIn: (response: TokenResponse) => void;
  /** Back to the first step, with why (the attempt is over) or without. */
  onStartOver: (why?: string) => void;
}

/** The one-time code of a sign-in or sign-up (emailed, or from the authenticator app). */
export function CodeStep({ challenge: initial, onSignedIn, onStartOver }: CodeStepProps) {
  const [challenge, setChallenge] = useState(initial);
  const [code, setCode] = useState("");
  const [info, setInfo] = useState<string | null>(null);
  const { busy, error, setError, attempt } = useAttempt();
  const handle = challenge.challenge_id ?? "";

  const verify = (e: FormEvent) => {
    e.preventDefault();
    if (!handle || !codeComplete(code)) return;
    return attempt(
      async () => {
        onSignedIn(await api.post<TokenResponse>("/api/auth/otp/verify", { challenge_id: handle, code }, { auth: false, bindKey: true }));
      },
      (err) => {
        if (err instanceof ApiError && err.code === "challenge_closed") {
          onStartOver("That attempt is over. Enter your password again.");
          return;
        }
        setError(errorMessage(err));
        setCode("");
      },
    );
  };

  const withPasskey = () =>
    attempt(
      async () => {
        onSignedIn(
          await answerWithPasskey<TokenResponse>("/api/auth/passkey/login", { challenge_id: handle }, { auth: false, bindKey: true }),
        );
      },
      (err) => {
        const expired = err instanceof ApiError && err.code === "challenge_closed" && err.problem.attempts_left === undefined;
        setError(expired ? "That passkey request expired. Try again." : errorMessage(err));
      },
    );

  const resend = () =>
    attempt(async () => {
      const next = await api.post<Challenge>("/api/auth/otp/resend", { challenge_id: handle }, { auth: false });
      setChallenge(next);
      setInfo(`A new code is on its way to ${next.destination}.`);
    });

  const offerPasskey = challenge.passkey && passkeysAvailable();
  const codeReady = challenge.code_sent !== false;
  const where =
    offerPasskey && !codeReady
      ? "Confirm with your passkey. No passkey at hand? Ask for a code by email."
      : challenge.channel === "totp"
      ? "Enter the current code from your authenticator app."
      : challenge.purpose === "registration"
        ? `We sent a 6-digit code to ${challenge.destination}. Enter it to confirm your address.`
        : `We sent a 6-digit code to ${challenge.destination}.`;
  return (
    <Stack component="form" spacing={2} onSubmit={verify} {...ignoreCapture} aria-label="One-time code">
      <LoginError message={error} />
      <Typography data-testid="otp-destination">{where}</Typography>
      {codeReady && (
        <Typography variant="body2" color="text.secondary" data-testid="otp-terms">
          {codeTerms(challenge)}
        </Typography>
      )}
      {offerPasskey && (
        <Button variant="contained" size="large" onClick={() => void withPasskey()} disabled={busy} data-testid="passkey-sign-in">
          Use your passkey
        </Button>
      )}
      {codeReady && <OtpField value={code} onChange={setCode} disabled={busy} autoFocus={!offerPasskey} failure={error} allowRecovery={challenge.channel === "totp"} />}
      {info && <Alert severity="info">{info}</Alert>}
      {codeReady && (
        <Button type="submit" variant={offerPasskey ? "outlined" : "contained"} size="large" disabled={busy || !codeComplete(code)} data-testid="otp-submit">
          {offerPasskey ? "Sign in with the code" : "Sign in"}
        </Button>
      )}
      <Stack direction="row" justifyContent="space-between">
        {challenge.channel === "email" ? (
          <Button onClick={() => void resend()} disabled={busy || challenge.resends_left <= 0} data-testid="otp-resend">
            {codeReady ? `Send a new code (${challenge.resends_left} left)` : "Send me a code instead"}
          </Button>
        ) : (
          <span />
        )}
        <Link component="button" type="button" onClick={() => onStartOver()}>
          Start over
        </Link>
      </Stack>
    </Stack>
  );
}
