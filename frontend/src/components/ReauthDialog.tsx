import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api/client";
import { codeErrorMessage, errorMessage } from "../api/messages";
import { answerWithPasskey } from "../api/passkeys";
import type { Challenge } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { CHALLENGE_REASONS, ignoreCapture } from "@bbauth/capture";
import { useTrust } from "../realtime/TrustContext";
import { answerWays, ChallengeAnswer } from "./ChallengeAnswer";
import { useAttempt } from "./useAttempt";
import { codeComplete } from "./OtpField";

/**
 * The forced re-challenge: while the session is challenged this modal blocks the page until a
 * fresh one-time code is entered. It cannot be dismissed; the page underneath (and anything
 * typed there) stays as it was.
 */
export function ReauthDialog() {
  const { challenged, setChallenged, logout } = useAuth();
  const { challengeCause } = useTrust();
  const [info, setInfo] = useState<Challenge | null>(null);
  const [code, setCode] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const { busy, error, setError, attempt } = useAttempt();

  const loadInfo = useCallback(async () => {
    try {
      setInfo(await api.get<Challenge>("/api/auth/reauth"));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) setChallenged(false); // already answered
      else if (err instanceof ApiError) setError(err.detail);
    }
  }, [setChallenged, setError]);

  useEffect(() => {
    if (!challenged) {
      setInfo(null);
      setCode("");
      setError(null);
      setMessage(null);
      return;
    }
    void loadInfo();
  }, [challenged, loadInfo, setError]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!codeComplete(code) || busy) return;
    return attempt(
      async () => {
        await api.post("/api/auth/reauth/verify", { code });
        setChallenged(false);
      },
      (err) => {
        if (err instanceof ApiError) {
          setError(err.code === "invalid_code" ? codeErrorMessage(err) : err.detail);
          if (err.code === "challenge_closed") void loadInfo();
        }
        setCode("");
      },
    );
  };

  const withPasskey = () =>
    attempt(
      async () => {
        await answerWithPasskey("/api/auth/reauth/passkey");
        setChallenged(false);
      },
      (err) => {
        setError(errorMessage(err));
        if (err instanceof ApiError && err.code === "challenge_closed") void loadInfo();
      },
    );

  const resend = () =>
    attempt(
      async () => {
        const next = await api.post<Challenge>("/api/auth/reauth/resend");
        setInfo(next);
        setMessage(`A new code is on its way to ${next.destination}.`);
      },
      (err) => {
        if (err instanceof ApiError) setError(err.detail);
      },
    );

  const { viaApp, offerPasskey, codeReady } = answerWays(info);
  return (
    <Dialog
      open={challenged}
      disableEscapeKeyDown
      aria-labelledby="reauth-title"
      aria-describedby="reauth-why reauth-destination"
      data-testid="reauth-dialog"
      slotProps={{ backdrop: { sx: { backdropFilter: "blur(3px)", bgcolor: "rgba(20, 30, 45, 0.55)" } } }}
    >
      <Box component="form" onSubmit={submit} {...ignoreCapture}>
        <DialogTitle id="reauth-title">Confirm it's still you</DialogTitle>
        <DialogContent>
          <Typography sx={{ mb: 2 }} id="reauth-why" data-testid="reauth-why">
            {CHALLENGE_REASONS[challengeCause ?? "unknown"]} Your work is kept: {offerPasskey ? "confirm it's you" : "enter a fresh code"} to continue
            where you were.
          </Typography>
          <ChallengeAnswer name="reauth" challenge={info} code={code} onCodeChange={setCode} error={error} message={message}
            onPasskey={() => void withPasskey()} disabled={busy} />
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2, justifyContent: "space-between", flexWrap: "wrap", gap: 1 }}>
          <Box>
            {!viaApp && (
              <Button onClick={() => void resend()} disabled={busy || !info || info.resends_left <= 0}>
                {codeReady ? `Send a new code${info ? ` (${info.resends_left} left)` : ""}` : "Send me a code instead"}
              </Button>
            )}
            <Button color="inherit" onClick={() => void logout()} disabled={busy}>
              Sign out
            </Button>
          </Box>
          {codeReady && (
            <Button type="submit" variant="contained" disabled={busy || !codeComplete(code)} data-testid="reauth-submit">
              Continue
            </Button>
          )}
        </DialogActions>
      </Box>
    </Dialog>
  );
}
