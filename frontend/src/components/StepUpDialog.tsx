import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Typography from "@mui/material/Typography";
import { useEffect, useState, useSyncExternalStore, type FormEvent } from "react";
import { api, ApiError, configureApi } from "../api/client";
import { errorMessage } from "../api/messages";
import { answerWithPasskey } from "../api/passkeys";
import { StepUpPrompt } from "../api/stepUp";
import type { Challenge } from "../api/types";
import { ignoreCapture } from "@bbauth/capture";
import { useTrust } from "../realtime/TrustContext";
import { answerWays, ChallengeAnswer } from "./ChallengeAnswer";
import { useAttempt } from "./useAttempt";
import { codeComplete } from "./OtpField";

const WHY_BY_DEFAULT =
  "This change affects how your account is protected, so it needs a fresh one-time code. It goes ahead as soon as the code is right.";

/**
 * Asks for a fresh one-time code when an operation answers 401 step_up_required (the API
 * client then sends that operation again), or when asked to directly (`askForStepUp`).
 * Cancelling lets the operation fail with `step_up_cancelled`, nothing else.
 */
export function StepUpDialog() {
  const [prompt] = useState(() => new StepUpPrompt());
  const { open, challenge, reason } = useSyncExternalStore(prompt.subscribe, prompt.getSnapshot, prompt.getSnapshot);
  const { channel } = useTrust();
  const [code, setCode] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [locked, setLocked] = useState(false);
  const { busy, error, setError, attempt } = useAttempt();

  useEffect(() => {
    configureApi({ onStepUpRequired: prompt.ask });
    return () => {
      configureApi({ onStepUpRequired: async () => false });
      prompt.settle(false);
    };
  }, [prompt]);

  useEffect(() => {
    if (open) return;
    setCode("");
    setError(null);
    setMessage(null);
    setLocked(false);
  }, [open, setError]);

  // The problem body normally carries the challenge; without it, ask (this sends the code).
  useEffect(() => {
    if (!open || challenge) return;
    api
      .get<Challenge>("/api/auth/step-up")
      .then((next) => prompt.showChallenge(next))
      .catch((err: unknown) => setError(errorMessage(err)));
  }, [open, challenge, prompt, setError]);

  const refused = async (err: unknown) => {
    setCode("");
    if (!(err instanceof ApiError)) return setError(errorMessage(err));
    if (err.code === "codes_locked") setLocked(true);
    if (err.code === "challenge_closed") {
      // Attempts spent or expired: a new challenge (and code) replaces it.
      const next = await api.get<Challenge>("/api/auth/step-up");
      prompt.showChallenge(next);
      setMessage(next.channel === "email" ? `That code can no longer be used. A new one is on its way to ${next.destination}.` : null);
      setError(next.channel === "email" ? null : "That code can no longer be used. Enter the app's current code.");
      return;
    }
    setError(errorMessage(err));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!codeComplete(code) || busy) return;
    setMessage(null);
    return attempt(
      async () => {
        await api.post("/api/auth/step-up/verify", { code });
        channel?.markSteppedUp();
        prompt.settle(true);
      },
      (err) => refused(err).catch((again: unknown) => setError(errorMessage(again))),
    );
  };

  const withPasskey = () => {
    setMessage(null);
    return attempt(
      async () => {
        await answerWithPasskey("/api/auth/step-up/passkey");
        channel?.markSteppedUp();
        prompt.settle(true);
      },
      (err) => {
        if (err instanceof ApiError && err.code === "codes_locked") setLocked(true);
        setError(errorMessage(err));
      },
    );
  };

  const resend = () =>
    attempt(async () => {
      const next = await api.post<Challenge>("/api/auth/step-up/resend");
      prompt.showChallenge(next);
      setMessage(`A new code is on its way to ${next.destination}.`);
    });

  const { viaApp, codeReady } = answerWays(challenge);
  return (
    <Dialog
      open={open}
      onClose={busy ? undefined : () => prompt.settle(false)}
      aria-labelledby="step-up-title"
      aria-describedby="step-up-destination"
      data-testid="step-up-dialog"
    >
      <Box component="form" onSubmit={submit} {...ignoreCapture}>
        <DialogTitle id="step-up-title">Confirm it's you</DialogTitle>
        <DialogContent>
          <Typography sx={{ mb: 2 }} data-testid="step-up-why">
            {reason ?? WHY_BY_DEFAULT}
          </Typography>
          <ChallengeAnswer name="step-up" challenge={challenge} code={code} onCodeChange={setCode} error={error} message={message}
            onPasskey={() => void withPasskey()} disabled={busy || locked} />
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2, justifyContent: "space-between", flexWrap: "wrap", gap: 1 }}>
          <Box>
            {challenge && !viaApp && (
              <Button onClick={() => void resend()} disabled={busy || locked || challenge.resends_left <= 0} data-testid="step-up-resend">
                {codeReady ? `Send a new code (${challenge.resends_left} left)` : "Send me a code instead"}
              </Button>
            )}
            <Button color="inherit" onClick={() => prompt.settle(false)} disabled={busy} data-testid="step-up-cancel">
              Cancel
            </Button>
          </Box>
          {codeReady && (
            <Button type="submit" variant="contained" disabled={busy || locked || !codeComplete(code)} data-testid="step-up-submit">
              Confirm
            </Button>
          )}
        </DialogActions>
      </Box>
    </Dialog>
  );
}
