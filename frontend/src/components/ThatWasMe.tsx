import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Snackbar from "@mui/material/Snackbar";
import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import { errorMessage } from "../api/messages";
import { useAuth } from "../auth/AuthContext";

/**
 * Right after a passed re-challenge: "that was me" tells the security team the challenge was a
 * false alarm (POST /api/sessions/current/that-was-me). It changes nothing the model learns.
 */
export function ThatWasMe() {
  const { challenged } = useAuth();
  const wasChallenged = useRef(challenged);
  const [open, setOpen] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    if (wasChallenged.current && !challenged) {
      setResult(null);
      setOpen(true);
    }
    wasChallenged.current = challenged;
  }, [challenged]);

  const confirm = async () => {
    try {
      await api.post("/api/sessions/current/that-was-me");
      setResult({ ok: true, text: "Thanks: recorded as you." });
    } catch (err) {
      setResult({ ok: false, text: errorMessage(err) });
    }
  };

  return (
    <Snackbar open={open} onClose={() => setOpen(false)} anchorOrigin={{ vertical: "bottom", horizontal: "left" }}>
      <Alert
        severity={result ? (result.ok ? "success" : "error") : "info"}
        onClose={() => setOpen(false)}
        data-testid="that-was-me"
        action={
          result ? undefined : (
            <Button color="inherit" size="small" onClick={() => void confirm()} data-testid="that-was-me-confirm">
              That was me
            </Button>
          )
        }
      >
        {result?.text ?? "You confirmed it's you. Was the check a false alarm?"}
      </Alert>
    </Snackbar>
  );
}
