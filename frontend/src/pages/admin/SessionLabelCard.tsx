import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import { api } from "../../api/client";
import { errorMessage } from "../../api/messages";
import type { SessionLabel } from "../../api/types";

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Label a session genuine or impostor (step-up; audited): an impostor's windows never teach. */
export function SessionLabelCard() {
  const [sessionId, setSessionId] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const valid = SESSION_ID.test(sessionId.trim());

  const label = async (kind: SessionLabel["label"]) => {
    setBusy(true);
    try {
      const saved = await api.post<SessionLabel>(`/api/admin/sessions/${sessionId.trim()}/labels`, { label: kind, note: note.trim() });
      setOutcome({ ok: true, text: `Session labelled ${saved.label}.` });
      setNote("");
    } catch (err) {
      setOutcome({ ok: false, text: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper sx={{ p: 2 }} data-testid="session-label">
      <Typography variant="h6" component="h2" sx={{ mb: 1 }}>
        Label a session
      </Typography>
      {outcome && (
        <Alert severity={outcome.ok ? "success" : "error"} sx={{ mb: 1 }} onClose={() => setOutcome(null)} data-testid="label-outcome">
          {outcome.text}
        </Alert>
      )}
      <Stack direction={{ xs: "column", sm: "row" }} spacing={1} alignItems="center">
        <TextField size="small" label="Session id" value={sessionId} onChange={(e) => setSessionId(e.target.value)} sx={{ minWidth: 320 }}
          slotProps={{ htmlInput: { "data-testid": "label-session", maxLength: 36 } }} />
        <TextField size="small" label="Note (for the audit log)" value={note} onChange={(e) => setNote(e.target.value)} fullWidth
          slotProps={{ htmlInput: { maxLength: 200 } }} />
        <Button disabled={!valid || busy} onClick={() => void label("genuine")} data-testid="label-genuine">
          Genuine
        </Button>
        <Button color="error" disabled={!valid || busy} onClick={() => void label("impostor")} data-testid="label-impostor">
          Impostor
        </Button>
      </Stack>
    </Paper>
  );
}
