import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
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
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api/client";
import type { BehaviorStatus, SessionInfo, TotpSetup, User } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { noCapture } from "../capture/nocapture";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { OtpField } from "../components/OtpField";
import { useTrust } from "../realtime/TrustContext";

/** Second factor (authenticator app), own sessions, and the behavioural model. */
export function AccountPage() {
  useEffect(() => {
    document.title = "Account · bbauth";
  }, []);
  return (
    <Stack spacing={2} sx={{ maxWidth: 900 }}>
      <AuthenticatorCard />
      <BehaviorCard />
      <SessionsCard />
    </Stack>
  );
}

function AuthenticatorCard() {
  const { user, updateUser } = useAuth();
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const enabled = Boolean(user?.totp_enabled);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError) setError(err.code === "invalid_code" ? "That code is wrong or has expired." : err.detail);
    } finally {
      setBusy(false);
    }
  };

  const start = () => run(async () => setSetup(await api.post<TotpSetup>("/api/auth/totp/setup")));
  const confirm = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      updateUser(await api.post<User>("/api/auth/totp/confirm", { code }));
      setSetup(null);
      setCode("");
      setDone("Authenticator app is on: sign-ins and re-checks now ask for its codes.");
    });
  };
  const disable = (e: FormEvent) => {
    e.preventDefault();
    return run(async () => {
      updateUser(await api.post<User>("/api/auth/totp/disable", { code }));
      setCode("");
      setDone("Authenticator app is off: codes go by email again.");
    });
  };

  return (
    <Paper sx={{ p: 3 }} data-testid="totp-card">
      <Stack direction="row" alignItems="center" spacing={1} sx={{ mb: 1 }}>
        <Typography variant="h6">Authenticator app</Typography>
        <Chip size="small" label={enabled ? "On" : "Off"} color={enabled ? "success" : "default"} />
      </Stack>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        Use codes from an authenticator app (any TOTP app) instead of email codes.
      </Typography>
      {error && <Alert severity="error" sx={{ mb: 2 }}>{error}</Alert>}
      {done && <Alert severity="success" sx={{ mb: 2 }}>{done}</Alert>}
      {!enabled && !setup && (
        <Button variant="contained" onClick={start} disabled={busy} data-testid="totp-setup">
          Set up authenticator app
        </Button>
      )}
      {!enabled && setup && (
        <Box component="form" onSubmit={confirm} {...noCapture} sx={{ display: "flex", gap: 3, flexWrap: "wrap", alignItems: "flex-start" }}>
          <Box component="img" src={setup.qr_png} alt="QR code for your authenticator app" data-testid="totp-qr" sx={{ width: 200, height: 200, imageRendering: "pixelated", border: "1px solid #e0e4ea", borderRadius: 1 }} />
          <Stack spacing={1.5} sx={{ flex: 1, minWidth: 260 }}>
            <Typography>1. Scan the QR code with the app, or type this key:</Typography>
            <Typography sx={{ fontFamily: "monospace", fontSize: 16, wordBreak: "break-all", bgcolor: "#f4f6f9", p: 1, borderRadius: 1 }} data-testid="totp-secret">
              {setup.secret}
            </Typography>
            <Typography>2. Enter the code the app shows:</Typography>
            <OtpField id="totp-code" value={code} onChange={setCode} disabled={busy} />
            <Stack direction="row" spacing={1}>
              <Button type="submit" variant="contained" disabled={busy || code.length !== 6}>
                Turn on
              </Button>
              <Button onClick={() => setSetup(null)} disabled={busy}>
                Cancel
              </Button>
            </Stack>
          </Stack>
        </Box>
      )}
      {enabled && (
        <Stack component="form" onSubmit={disable} {...noCapture} spacing={1.5} sx={{ maxWidth: 320 }}>
          <Typography>To turn it off, enter a current code from the app.</Typography>
          <OtpField id="totp-disable-code" value={code} onChange={setCode} disabled={busy} />
          <Button type="submit" variant="outlined" color="error" disabled={busy || code.length !== 6}>
            Turn off
          </Button>
        </Stack>
      )}
    </Paper>
  );
}

function BehaviorCard() {
  const trust = useTrust();
  const [status, setStatus] = useState<BehaviorStatus | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

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

  const restart = async () => {
    setBusy(true);
    try {
      setStatus(await api.post<BehaviorStatus>("/api/behavior/me/enrollment"));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <Paper sx={{ p: 3 }}>
      <Typography variant="h6" gutterBottom>
        Behavioural profile
      </Typography>
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
      <Button variant="outlined" onClick={() => setConfirming(true)} disabled={busy}>
        Learn my behaviour again
      </Button>
      <ConfirmDialog
        open={confirming}
        title="Learn your behaviour again?"
        message="Your current models are set aside and bbauth learns from your typing and mouse use from scratch."
        confirmLabel="Start over"
        busy={busy}
        onConfirm={() => void restart()}
        onCancel={() => setConfirming(false)}
      />
    </Paper>
  );
}

function SessionsCard() {
  const { session } = useAuth();
  const trust = useTrust();
  const [sessions, setSessions] = useState<SessionInfo[]>([]);
  const [target, setTarget] = useState<SessionInfo | null>(null);

  const load = useCallback(async () => {
    try {
      setSessions((await api.get<{ sessions: SessionInfo[] }>("/api/sessions")).sessions);
    } catch {
      // handled globally
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load, session?.token]);

  const revoke = async () => {
    if (!target) return;
    try {
      await api.delete(`/api/sessions/${target.id}`);
    } finally {
      setTarget(null);
      void load();
    }
  };

  const live = sessions.filter((s) => s.state === "active" || s.state === "challenged");
  return (
    <Paper sx={{ p: 3 }}>
      <Typography variant="h6" gutterBottom>
        Your sessions
      </Typography>
      <Table size="small">
        <TableHead>
          <TableRow>
            <TableCell>Started</TableCell>
            <TableCell>State</TableCell>
            <TableCell>Address</TableCell>
            <TableCell>Browser</TableCell>
            <TableCell />
          </TableRow>
        </TableHead>
        <TableBody>
          {live.map((s) => (
            <TableRow key={s.id}>
              <TableCell>{new Date(s.created_at).toLocaleString()}</TableCell>
              <TableCell>{s.state}</TableCell>
              <TableCell>{s.ip}</TableCell>
              <TableCell sx={{ maxWidth: 220, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>{s.user_agent}</TableCell>
              <TableCell align="right">
                {s.id === trust.sessionId ? (
                  <Chip size="small" label="This one" />
                ) : (
                  <Button size="small" color="error" onClick={() => setTarget(s)}>
                    End
                  </Button>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <ConfirmDialog
        open={target !== null}
        title="End this session?"
        message="Whoever uses it is signed out at once."
        confirmLabel="End session"
        danger
        onConfirm={() => void revoke()}
        onCancel={() => setTarget(null)}
      />
    </Paper>
  );
}
