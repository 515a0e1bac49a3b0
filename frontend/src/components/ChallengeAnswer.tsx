import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Typography from "@mui/material/Typography";
import { passkeysAvailable } from "../api/passkeys";
import type { Challenge } from "../api/types";
import { codeTerms } from "./codeTerms";
import { OtpField } from "./OtpField";

/** How a challenge can be answered here. */
export interface AnswerWays {
  /** With the authenticator app's current code (nothing to resend). */
  viaApp: boolean;
  /** With a passkey: the person has one and this browser can use it. */
  offerPasskey: boolean;
  /** With a code already sent (false: none until the person asks for one). */
  codeReady: boolean;
}

export function answerWays(challenge: Challenge | null): AnswerWays {
  return {
    viaApp: challenge?.channel === "totp",
    offerPasskey: Boolean(challenge?.passkey) && passkeysAvailable(),
    codeReady: challenge?.code_sent !== false,
  };
}

export interface ChallengeAnswerProps {
  /** The prefix of its ids and test ids ("reauth", "step-up"). */
  name: string;
  /** The open challenge; null while it is being asked for. */
  challenge: Challenge | null;
  code: string;
  onCodeChange: (code: string) => void;
  onPasskey: () => void;
  /** No answer can be given now (one is on its way, or codes are locked). */
  disabled: boolean;
  /** Why the last answer failed. */
  error: string | null;
  /** News for the person, e.g. that a new code was sent. */
  message: string | null;
}

/** The body of a dialog asking for a fresh code: where it went, the passkey, the code field and news. */
export function ChallengeAnswer({ name, challenge, code, onCodeChange, onPasskey, disabled, error, message }: ChallengeAnswerProps) {
  const { viaApp, offerPasskey, codeReady } = answerWays(challenge);
  return (
    <>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }} id={`${name}-destination`} data-testid={`${name}-destination`}>
        {challenge
          ? offerPasskey && !codeReady
            ? "Confirm with your passkey, or ask for a code."
            : viaApp
              ? "Enter the current code from your authenticator app."
              : `We sent a 6-digit code to ${challenge.destination}.`
          : "Preparing your code…"}
      </Typography>
      {challenge && codeReady && (
        <Typography variant="body2" color="text.secondary" sx={{ mt: -1, mb: 2 }} data-testid={`${name}-terms`}>
          {codeTerms(challenge)}
        </Typography>
      )}
      {offerPasskey && (
        <Button variant="contained" onClick={onPasskey} disabled={disabled} sx={{ mb: 2 }} data-testid={`${name}-passkey`}>
          Use your passkey
        </Button>
      )}
      {codeReady ? (
        <OtpField id={`${name}-code`} value={code} onChange={onCodeChange} disabled={disabled} autoFocus={!offerPasskey} error={error} allowRecovery={viaApp} />
      ) : (
        error && <Alert severity="error">{error}</Alert>
      )}
      {message && (
        <Alert severity="info" sx={{ mt: 1 }}>
          {message}
        </Alert>
      )}
    </>
  );
}
