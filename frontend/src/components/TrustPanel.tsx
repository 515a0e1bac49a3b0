import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import type { ModalityProgress } from "../realtime/types";
import type { TrustSnapshot } from "../realtime/trustChannel";
import { levelColor } from "../theme";
import { LevelChip } from "./LevelChip";
import { Sparkline } from "./Sparkline";

export const CHALLENGE_BELOW = 50;

export interface TrustPanelProps {
  snapshot: TrustSnapshot;
  captureActive: boolean;
}

/** The live trust indicator: score, level, recent timeline, and enrollment while learning. */
export function TrustPanel({ snapshot, captureActive }: TrustPanelProps) {
  const { trust, history, enrollment, trained, connection, challenged } = snapshot;
  const enrolling = !trained.keystroke || !trained.mouse;
  const score = trust ? Math.round(trust.score) : null;

  return (
    <Paper
      sx={{ p: 2 }}
      data-testid="trust-panel"
      data-keystroke-model={trained.keystroke ? "ready" : "learning"}
      data-mouse-model={trained.mouse ? "ready" : "learning"}
      data-windows={trust?.windows ?? 0}
    >
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 1 }}>
        <Typography variant="overline" color="text.secondary">
          Live trust
        </Typography>
        <ConnectionChip connection={connection} challenged={challenged} captureActive={captureActive} />
      </Stack>
      <Stack direction="row" alignItems="baseline" spacing={1.5}>
        <Typography
          variant="h3"
          component="div"
          data-testid="trust-score"
          aria-live="polite"
          sx={{ fontWeight: 700, color: levelColor(trust?.level), lineHeight: 1 }}
        >
          {score ?? "—"}
        </Typography>
        <Typography color="text.secondary">/ 100</Typography>
        <Box sx={{ flexGrow: 1 }} />
        <LevelChip level={trust?.level} />
      </Stack>
      <Typography variant="caption" color="text.secondary" component="div" sx={{ mt: 0.5 }}>
        {trust ? `${trust.windows} scored window${trust.windows === 1 ? "" : "s"}` : "Waiting for the server…"}
        {snapshot.lastModality ? ` · last: ${snapshot.lastModality}` : ""}
      </Typography>
      <Box sx={{ mt: 1.5 }} data-testid="trust-timeline">
        <Sparkline
          values={history.length ? history : trust ? [trust.score] : []}
          width={300}
          height={96}
          axes
          threshold={CHALLENGE_BELOW}
          level={trust?.level}
          title={`Recent trust scores (${history.length})`}
        />
      </Box>
      {enrolling && (
        <Box sx={{ mt: 2 }} data-testid="enrollment">
          <Typography variant="subtitle2">Learning how you work</Typography>
          <Typography variant="caption" color="text.secondary" component="div" sx={{ mb: 1 }}>
            Until a model is trained for you, your typing and mouse use are only collected, not judged.
          </Typography>
          <ProgressRow label="Keystrokes" unit="windows" progress={enrollment?.keystroke} trained={trained.keystroke} testId="enroll-keystroke" />
          <ProgressRow label="Mouse" unit="actions" progress={enrollment?.mouse} trained={trained.mouse} testId="enroll-mouse" />
        </Box>
      )}
    </Paper>
  );
}

function ProgressRow({
  label,
  unit,
  progress,
  trained,
  testId,
}: {
  label: string;
  unit: string;
  progress: ModalityProgress | undefined;
  trained: boolean;
  testId: string;
}) {
  const ratio = trained ? 1 : (progress?.ratio ?? 0);
  const text = trained
    ? "model ready"
    : progress
      ? progress.ratio >= 1
        ? "training…"
        : `${progress.samples} / ${progress.needed} ${unit}`
      : "not started";
  return (
    <Box sx={{ mb: 1 }} data-testid={testId} data-ratio={ratio} data-trained={trained}>
      <Stack direction="row" justifyContent="space-between">
        <Typography variant="body2">{label}</Typography>
        <Typography variant="body2" color="text.secondary">
          {text}
        </Typography>
      </Stack>
      <LinearProgress
        variant="determinate"
        value={Math.round(ratio * 100)}
        color={trained ? "success" : "primary"}
        sx={{ height: 8, borderRadius: 4 }}
        aria-label={`${label} enrollment`}
      />
    </Box>
  );
}

function ConnectionChip({
  connection,
  challenged,
  captureActive,
}: {
  connection: TrustSnapshot["connection"];
  challenged: boolean;
  captureActive: boolean;
}) {
  if (challenged) return <Chip size="small" color="error" label="Re-check needed" data-testid="connection" />;
  if (connection === "connected")
    return (
      <Chip
        size="small"
        variant="outlined"
        color={captureActive ? "success" : "default"}
        label={captureActive ? "Live" : "Paused"}
        data-testid="connection"
      />
    );
  return (
    <Chip
      size="small"
      variant="outlined"
      color="warning"
      label={connection === "reconnecting" ? "Reconnecting…" : connection === "closed" ? "Offline" : "Connecting…"}
      data-testid="connection"
    />
  );
}

/** The compact indicator for the app bar, on every page. */
export function TrustBadge({ snapshot }: { snapshot: TrustSnapshot }) {
  const { trust, history } = snapshot;
  return (
    <Stack direction="row" alignItems="center" spacing={1} data-testid="trust-badge" sx={{ bgcolor: "rgba(255,255,255,0.95)", borderRadius: 2, px: 1, py: 0.25 }}>
      <Sparkline values={history.slice(-30)} width={64} height={22} level={trust?.level} />
      <Typography variant="body2" sx={{ fontWeight: 700, color: levelColor(trust?.level), minWidth: 22 }}>
        {trust ? Math.round(trust.score) : "—"}
      </Typography>
    </Stack>
  );
}
