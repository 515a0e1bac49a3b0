import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Snackbar from "@mui/material/Snackbar";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TablePagination from "@mui/material/TablePagination";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { Suspense, useEffect, useState } from "react";
import { api } from "../api/client";
import type { BehaviorStatus, ModelStatus } from "../api/types";
import { useLoaded, type Loaded } from "../api/useLoaded";
import { useAuth } from "../auth/AuthContext";
import { CardTitle } from "../components/CardTitle";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { LevelChip } from "../components/LevelChip";
import { Sparkline } from "../components/Sparkline";
import { DataTable, EmptyRow } from "../components/DataTable";
import { thresholdLines } from "../components/TrustPanel";
import { formatDuration } from "../format";
import { useTrust } from "../realtime/TrustContext";
import { useAdminSessions } from "../realtime/useAdminSessions";
import type { AdminSessionRow, UnmonitoredSession } from "@bbauth/capture";
import { IntegrationsCard } from "./admin/IntegrationsCard";
import { ModelVersionsCard } from "./admin/ModelVersionsCard";
import { SessionLabelCard } from "./admin/SessionLabelCard";
import { SessionCountChips, SessionFilters } from "./admin/SessionControls";
import { UsersCard } from "./admin/UsersCard";
import { lazyPage } from "../routing/lazyPage";

// The drill-down and the figures load when first shown: the dashboard's own chunk stays small.
const SessionDrilldown = lazyPage(() => import("./admin/SessionDrilldown"), "SessionDrilldown");
const DetectionCard = lazyPage(() => import("./admin/DetectionCard"), "DetectionCard");

type Action = { kind: "challenge" | "revoke"; row: Pick<AdminSessionRow, "session_id" | "email"> };

const SESSION_COLUMNS = [
  "User",
  "State",
  "Trust",
  "Recent trust",
  { label: "Events/s", align: "right" },
  "Connected since",
  "Models",
  { label: "Actions", align: "right" },
] as const;
const UNMONITORED_COLUMNS = ["User", "State", "Last used", "Signed in", { label: "Actions", align: "right" }] as const;
const MODEL_COLUMNS = ["User", "Mode", "Keystroke model", "Mouse model", "Last trained"] as const;

/** GET /api/admin/behavior. */
async function loadBehavior(): Promise<BehaviorStatus[]> {
  return (await api.get<{ users: BehaviorStatus[] }>("/api/admin/behavior")).users;
}

const RULES: Record<NonNullable<AdminSessionRow["rule"]>, string> = {
  challenge_below: "challenge rule fired",
  revoke_below: "revoke rule fired",
};

/** Seconds from `since` to the feed's `at` (server times, epoch seconds). */
function secondsSince(since: number | null | undefined, at: number | null): number | null {
  return since == null || at == null ? null : Math.max(0, at - since);
}

/** The security team's view: live sessions a page at a time and their two actions, accounts, model status. */
export function AdminPage() {
  const { session, user, endSession, setChallenged } = useAuth();
  const live = useAdminSessions(user?.role === "admin" ? (session?.token ?? null) : null, {
    onSessionLost: endSession,
    onReauthRequired: () => setChallenged(true),
  });
  const [action, setAction] = useState<Action | null>(null);
  const [drill, setDrill] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [toast, setToast] = useState<{ ok: boolean; text: string } | null>(null);
  const models = useLoaded(loadBehavior, { enabled: user?.role === "admin", everyMs: 10_000 });
  const { thresholds } = useTrust();

  useEffect(() => {
    document.title = "Security dashboard · bbauth";
  }, []);

  if (user?.role !== "admin") {
    return <Alert severity="warning">The security dashboard is for administrators.</Alert>;
  }

  const run = async () => {
    if (!action) return;
    setBusy(true);
    const answer = await live.command(action.kind, action.row.session_id);
    setBusy(false);
    setAction(null);
    const who = action.row.email ?? action.row.session_id;
    setToast(
      answer.ok
        ? { ok: true, text: action.kind === "revoke" ? `Session of ${who} revoked.` : `${who} must confirm with a new code.` }
        : { ok: false, text: `Could not ${action.kind} the session of ${who}${answer.ok ? "" : `: ${answer.error.detail}`}.` },
    );
  };

  return (
    <Stack spacing={2}>
      <Paper sx={{ p: 2 }}>
        <Stack direction="row" alignItems="center" spacing={1.5} sx={{ mb: 1.5 }}>
          <Typography variant="h6" component="h2">Active sessions</Typography>
          <Chip
            size="small"
            variant="outlined"
            color={live.connected ? "success" : "warning"}
            label={live.connected ? "Live" : "Connecting…"}
            data-testid="admin-live"
          />
          <Box sx={{ flexGrow: 1 }} />
          <Typography variant="caption" color="text.secondary" data-testid="admin-updated">
            {live.at ? `updated ${new Date(live.at * 1000).toLocaleTimeString()}` : ""}
          </Typography>
        </Stack>
        {live.error && (
          <Alert severity="warning" sx={{ mb: 1 }}>
            {live.error}
          </Alert>
        )}
        <Box sx={{ mb: 1.5 }}>
          <SessionCountChips counts={live.counts} />
        </Box>
        <SessionFilters query={live.query} onChange={(query) => void live.watch(query)} />
        <DataTable columns={SESSION_COLUMNS} testId="sessions-table">
          {live.sessions.length === 0 && (
            <EmptyRow colSpan={SESSION_COLUMNS.length} sx={{ py: 2, textAlign: "center" }}>
              {!live.connected ? "Waiting for the live feed…" : live.counts?.connected ? "No session matches." : "No one is connected right now."}
            </EmptyRow>
          )}
          {live.sessions.map((row) => (
            <TableRow
              key={row.session_id}
              data-testid="session-row"
              data-email={row.email ?? ""}
              data-session={row.session_id}
              data-state={row.state}
              data-verified={row.verified}
              sx={row.verified ? undefined : { bgcolor: "#fff8e1" }}
            >
              <TableCell>
                <Typography variant="body2" sx={{ fontWeight: 600 }}>
                  {row.email ?? "—"}
                </Typography>
                <Typography variant="caption" color="text.secondary" sx={{ fontFamily: "monospace" }}>
                  {row.session_id.slice(0, 8)} · {row.sockets} tab{row.sockets === 1 ? "" : "s"}
                </Typography>
                <Button size="small" sx={{ display: "block", px: 0, minWidth: 0 }} onClick={() => setDrill(row.session_id)} data-testid="action-details">
                  Details
                </Button>
              </TableCell>
              <TableCell>
                <Chip
                  size="small"
                  label={row.state}
                  color={row.state === "challenged" ? "error" : "default"}
                  variant={row.state === "challenged" ? "filled" : "outlined"}
                  data-testid="session-state"
                />
                {row.liveness && (
                <Chip size="small" color="warning" label={row.liveness === "replay" ? "replayed input" : "machine-made input"} data-testid="session-liveness" sx={{ ml: 0.5 }} />
              )}
              {row.rule && (
                  <Typography variant="caption" color="error" component="div" data-testid="session-rule" data-rule={row.rule} sx={{ mt: 0.5 }}>
                    {RULES[row.rule] ?? row.rule}
                  </Typography>
                )}
              </TableCell>
              <TableCell>
                <Stack direction="row" spacing={1} alignItems="center">
                  <Typography
                    variant="body2"
                    sx={{ fontWeight: 700, minWidth: 28, color: row.verified ? undefined : "text.secondary" }}
                    data-testid="session-trust"
                  >
                    {row.trust != null ? Math.round(row.trust) : "—"}
                  </Typography>
                  <LevelChip level={row.level} muted={!row.verified} />
                </Stack>
                <EvidenceNote row={row} at={live.at} />
              </TableCell>
              <TableCell>
                <Sparkline
                  values={row.history ?? []}
                  width={120}
                  height={30}
                  level={row.level}
                  muted={!row.verified}
                  threshold={thresholdLines(thresholds).threshold}
                />
              </TableCell>
              <TableCell align="right" data-testid="session-eps">
                {row.events_per_second.toFixed(1)}
              </TableCell>
              <TableCell>
                <Typography variant="body2" sx={{ whiteSpace: "nowrap" }}>
                  {row.connected_since ? new Date(row.connected_since * 1000).toLocaleTimeString() : "—"}
                </Typography>
                <Typography variant="caption" color="text.secondary">
                  {formatDuration(secondsSince(row.connected_since, live.at) ?? 0)} ago
                </Typography>
              </TableCell>
              <TableCell>
                <ModelChips versions={row.model_versions} status={models.data?.find((u) => u.user_id === row.user_id)} />
              </TableCell>
              <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
                <Button
                  size="small"
                  onClick={() => setAction({ kind: "challenge", row })}
                  disabled={row.state === "challenged"}
                  data-testid="action-challenge"
                >
                  Re-challenge
                </Button>
                <Button size="small" color="error" onClick={() => setAction({ kind: "revoke", row })} data-testid="action-revoke">
                  Revoke
                </Button>
              </TableCell>
            </TableRow>
          ))}
        </DataTable>
        <TablePagination
          component="div"
          count={live.total}
          page={live.total === 0 ? 0 : live.query.page}
          rowsPerPage={live.query.page_size}
          rowsPerPageOptions={[10, 25, 50, 100]}
          onPageChange={(_, page) => void live.watch({ ...live.query, page })}
          onRowsPerPageChange={(e) => void live.watch({ ...live.query, page: 0, page_size: Number(e.target.value) })}
          data-testid="sessions-pagination"
        />
      </Paper>

      <UnmonitoredCard sessions={live.unmonitored} connected={live.connected} onRevoke={(row) => setAction({ kind: "revoke", row })} />

      <UsersCard />

      <IntegrationsCard />

      <ModelStatusCard models={models} />

      <ModelVersionsCard />

      <SessionLabelCard />

      <Suspense fallback={null}>
        <DetectionCard />
      </Suspense>
      <Suspense fallback={null}>
        {drill && <SessionDrilldown sessionId={drill} threshold={thresholdLines(thresholds).threshold} onClose={() => setDrill(null)} />}
      </Suspense>

      <ConfirmDialog
        open={action !== null}
        title={action?.kind === "revoke" ? "Revoke this session?" : "Force a re-challenge?"}
        message={
          action?.kind === "revoke"
            ? `${action.row.email ?? "This user"} is signed out at once and must sign in again with password and code.`
            : `${action?.row.email ?? "This user"} must enter a fresh one-time code before continuing.`
        }
        confirmLabel={action?.kind === "revoke" ? "Revoke" : "Re-challenge"}
        danger={action?.kind === "revoke"}
        busy={busy}
        onConfirm={() => void run()}
        onCancel={() => setAction(null)}
      />
      <Snackbar open={toast !== null} autoHideDuration={5000} onClose={() => setToast(null)} anchorOrigin={{ vertical: "bottom", horizontal: "center" }}>
        {toast ? (
          <Alert severity={toast.ok ? "success" : "error"} variant="filled" onClose={() => setToast(null)} data-testid="admin-toast">
            {toast.text}
          </Alert>
        ) : undefined}
      </Snackbar>
    </Stack>
  );
}

/** Whether evidence backs the trust now (unverified: none for longer than the maximum age), and the last window's evidence. */
function EvidenceNote({ row, at }: { row: AdminSessionRow; at: number | null }) {
  const age = secondsSince(row.evidence_at, at);
  const seen = age == null ? "no evidence yet" : `last evidence ${formatDuration(age)} ago`;
  return (
    <>
      <Stack direction="row" spacing={0.75} alignItems="center" sx={{ mt: 0.5 }}>
        {!row.verified && <Chip size="small" color="warning" label="unverified" data-testid="session-unverified" />}
        <Typography variant="caption" color="text.secondary" data-testid="session-evidence">
          {seen}
          {row.last_evidence != null && row.history?.length
            ? ` · last window ${row.last_evidence >= 0 ? "+" : ""}${row.last_evidence.toFixed(2)} nats`
            : ""}
        </Typography>
      </Stack>
      {row.explanation?.reasons.length ? (
        <Typography component="ul" variant="caption" color="text.secondary" data-testid="session-explanation" aria-label="Why the last window scored as it did" sx={{ m: 0, pl: 2 }}>
          {row.explanation.reasons.map((reason) => (
            <li key={reason.feature}>
              {reason.text} ({reason.llr >= 0 ? "+" : ""}
              {reason.llr.toFixed(1)})
            </li>
          ))}
        </Typography>
      ) : null}
    </>
  );
}

/** Live sessions with no socket: they use the API only, so nothing of their behaviour is ever seen. */
function UnmonitoredCard({
  sessions,
  connected,
  onRevoke,
}: {
  sessions: UnmonitoredSession[];
  connected: boolean;
  onRevoke: (row: UnmonitoredSession) => void;
}) {
  return (
    <Paper sx={{ p: 2 }}>
      <Typography variant="h6" component="h2" sx={{ mb: 0.5 }}>
        Unmonitored (no socket: no behavioral evidence)
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        These sessions call the API without the web app's live channel. Operations that need fresh trust ask them for a
        one-time code every time.
      </Typography>
      <DataTable columns={UNMONITORED_COLUMNS} testId="unmonitored-table">
        {sessions.length === 0 && (
          <EmptyRow colSpan={UNMONITORED_COLUMNS.length} sx={{ py: 1, textAlign: "center" }}>
            {connected ? "Every live session is watched." : "Waiting for the live feed…"}
          </EmptyRow>
        )}
        {sessions.map((row) => (
          <TableRow key={row.session_id} data-testid="unmonitored-row" data-email={row.email ?? ""} data-session={row.session_id}>
            <TableCell>
              <Typography variant="body2" sx={{ fontWeight: 600 }}>
                {row.email ?? "—"}
              </Typography>
              <Typography variant="caption" color="text.secondary" sx={{ fontFamily: "monospace" }}>
                {row.session_id.slice(0, 8)}
              </Typography>
            </TableCell>
            <TableCell>
              <Chip size="small" variant="outlined" label={row.state} color={row.state === "challenged" ? "error" : "default"} />
            </TableCell>
            <TableCell>{new Date(row.last_seen_at).toLocaleTimeString()}</TableCell>
            <TableCell>{new Date(row.created_at).toLocaleString()}</TableCell>
            <TableCell align="right">
              <Button size="small" color="error" onClick={() => onRevoke(row)} data-testid="unmonitored-revoke">
                Revoke
              </Button>
            </TableCell>
          </TableRow>
        ))}
      </DataTable>
    </Paper>
  );
}

/** Model versions of a live session; the REST status fills in models trained since it connected. */
function ModelChips({ versions, status }: { versions: AdminSessionRow["model_versions"]; status?: BehaviorStatus }) {
  return (
    <Stack spacing={0.5} alignItems="flex-start">
      {(["keystroke", "mouse"] as const).map((m) => {
        const live = versions?.[m] ?? null;
        const stored = status?.[m].version ?? null;
        const v = live != null && stored != null ? Math.max(live, stored) : (live ?? stored);
        return (
          <Chip
            key={m}
            size="small"
            variant="outlined"
            label={`${m === "keystroke" ? "keys" : "mouse"} ${v != null ? `v${v}` : "learning"}`}
            color={v != null ? "success" : "default"}
          />
        );
      })}
    </Stack>
  );
}

/** Each user's behavioural models: how far learning got, and their measured error rates. */
function ModelStatusCard({ models }: { models: Loaded<BehaviorStatus[]> }) {
  return (
    <Paper sx={{ p: 2 }}>
      <CardTitle title="Behavioural models" onRefresh={models.reload} />
      {models.error && <Alert severity="warning">{models.error}</Alert>}
      <DataTable columns={MODEL_COLUMNS} testId="models-table">
        {(models.data ?? []).map((u) => (
          <TableRow key={u.user_id} data-testid="model-row" data-email={u.email}>
            <TableCell>{u.email}</TableCell>
            <TableCell>
              <Chip size="small" label={u.mode} color={u.mode === "verification" ? "success" : "default"} variant="outlined" />
            </TableCell>
            <TableCell>
              <ModelCell model={u.keystroke} unit="windows" />
            </TableCell>
            <TableCell>
              <ModelCell model={u.mouse} unit="actions" />
            </TableCell>
            <TableCell>{u.last_trained_at ? new Date(u.last_trained_at).toLocaleString() : "never"}</TableCell>
          </TableRow>
        ))}
      </DataTable>
    </Paper>
  );
}

function ModelCell({ model, unit }: { model: ModelStatus; unit: string }) {
  return (
    <Box>
      <Typography variant="body2">
        {model.version != null ? `v${model.version}` : "learning"} · {model.samples}/{model.needed} {unit}
      </Typography>
      <Typography variant="caption" color="text.secondary">
        {model.eer != null ? `measured error rate (EER) ${(model.eer * 100).toFixed(1)} %` : "error rate not measured yet"}
      </Typography>
    </Box>
  );
}
