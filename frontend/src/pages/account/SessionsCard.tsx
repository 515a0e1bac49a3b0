import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useState } from "react";
import { api } from "../../api/client";
import { errorMessage } from "../../api/messages";
import type { EndedSessions, SessionInfo } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { formatEndedSessions } from "../../format";
import { useTrust } from "../../realtime/TrustContext";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";
import { cardsOnPhones } from "../../components/DataTable";
import { ago, deviceName } from "../../devices";
import { visuallyHidden } from "../../components/TrustAnnouncer";

type Ending = { kind: "one"; session: SessionInfo } | { kind: "others" };

/** The person's live sessions: end one, or every one but this. */
export function SessionsCard() {
  const { session } = useAuth();
  const trust = useTrust();
  const [sessions, setSessions] = useState<SessionInfo[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [ending, setEnding] = useState<Ending | null>(null);
  const action = useAction();

  const load = useCallback(async () => {
    try {
      setSessions((await api.get<{ sessions: SessionInfo[] }>("/api/sessions")).sessions);
      setLoadError(null);
    } catch (err) {
      // A lost session is handled by the client (sign-in page); anything else is said here,
      // never shown as an empty list.
      setLoadError(errorMessage(err));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load, session?.token]);

  const end = async () => {
    const target = ending;
    setEnding(null);
    if (!target) return;
    await action.run(async () => {
      if (target.kind === "one") {
        await api.delete(`/api/sessions/${target.session.id}`);
        return "The session was ended.";
      }
      return formatEndedSessions((await api.post<EndedSessions>("/api/sessions/revoke-others")).ended_sessions);
    });
    void load();
  };

  const live = sessions.filter((s) => s.state === "active" || s.state === "challenged");
  return (
    <Paper sx={{ p: 3 }}>
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 1 }}>
        <Typography variant="h6" component="h2">
          Your sessions
        </Typography>
        <Button
          color="error"
          variant="outlined"
          size="small"
          onClick={() => setEnding({ kind: "others" })}
          disabled={action.busy}
          data-testid="revoke-others"
        >
          Sign out everywhere else
        </Button>
      </Stack>
      <ActionAlerts action={action} testId="sessions" />
      {loadError && (
        <Alert severity="error" sx={{ mb: 1 }} data-testid="sessions-load-error">
          {loadError}
        </Alert>
      )}
      <Table size="small" sx={cardsOnPhones(["Device", "Last active", "Started", "State", "Address", ""])}>
        <TableHead>
          <TableRow>
            <TableCell>Device</TableCell>
            <TableCell>Last active</TableCell>
            <TableCell>Started</TableCell>
            <TableCell>State</TableCell>
            <TableCell>Address</TableCell>
            <TableCell>
              <span style={visuallyHidden}>Action</span>
            </TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {live.map((s) => (
            <TableRow key={s.id} data-testid="session-row">
              <TableCell title={s.user_agent} data-testid="session-device">
                {deviceName(s.user_agent)}
              </TableCell>
              <TableCell title={new Date(s.last_seen_at).toLocaleString()}>{ago(s.last_seen_at)}</TableCell>
              <TableCell>{new Date(s.created_at).toLocaleString()}</TableCell>
              <TableCell>{s.state}</TableCell>
              <TableCell>{s.ip}</TableCell>
              <TableCell align="right">
                {s.id === trust.sessionId ? (
                  <Chip size="small" label="This one" data-testid="session-current" />
                ) : (
                  <Button size="small" color="error" onClick={() => setEnding({ kind: "one", session: s })}>
                    End
                  </Button>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <ConfirmDialog
        open={ending !== null}
        title={ending?.kind === "others" ? "Sign out everywhere else?" : "End this session?"}
        message={
          ending?.kind === "others"
            ? "Every other session of your account is signed out at once; this one stays."
            : "Whoever uses it is signed out at once."
        }
        confirmLabel={ending?.kind === "others" ? "Sign out others" : "End session"}
        danger
        onConfirm={() => void end()}
        onCancel={() => setEnding(null)}
      />
    </Paper>
  );
}
