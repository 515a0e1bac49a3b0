import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useState } from "react";
import { api } from "../../api/client";
import type { BehaviorStatus } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useTrust } from "../../realtime/TrustContext";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";

/** The behavioural profile's progress, and learning it again from scratch. */
export function BehaviorCard() {
  const trust = useTrust();
  const [status, setStatus] = useState<BehaviorStatus | null>(null);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();

  const load = useCallback(async () => {
    try {
      setStatus(await api.get<BehaviorStatus>("/api/behavior/me"));
    } catch {
      // The card just stays empty; session-level errors are handled globally.
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load, trust.trained.keystroke, trust.trained.mouse]);

  const restart = () => {
    setConfirming(false);
    return action.run(async () => {
      setStatus(await api.post<BehaviorStatus>("/api/behavior/me/enrollment"));
      return "bbauth is learning your behaviour again.";
    });
  };

  return (
    <Paper sx={{ p: 3 }}>
      <Typography variant="h6" component="h2" gutterBottom>
        Behavioural profile
      </Typography>
      <ActionAlerts action={action} testId="behavior" />
      {status ? (
        <>
          <Typography color="text.secondary" sx={{ mb: 1 }}>
            Mode: <b>{status.mode}</b>
            {status.last_trained_at ? ` · last trained ${new Date(status.last_trained_at).toLocaleString()}` : ""}
          </Typography>
          <Typography variant="body2">
            Keystrokes: {status.keystroke.samples} / {status.keystroke.needed} windows
            {status.keystroke.version != null ? ` · model v${status.keystroke.version}` : ""}
          </Typography>
          <Typography variant="body2" sx={{ mb: 2 }}>
            Mouse: {status.mouse.samples} / {status.mouse.needed} actions
            {status.mouse.version != null ? ` · model v${status.mouse.version}` : ""}
          </Typography>
        </>
      ) : (
        <Typography color="text.secondary">Loading…</Typography>
      )}
      <Button variant="outlined" onClick={() => setConfirming(true)} disabled={action.busy}>
        Learn my behaviour again
      </Button>
      <ConfirmDialog
        open={confirming}
        title="Learn your behaviour again?"
        message="Your current models are set aside and bbauth learns from your typing and mouse use from scratch."
        confirmLabel="Start over"
        onConfirm={() => void restart()}
        onCancel={() => setConfirming(false)}
      />
    </Paper>
  );
}
