import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useVerified } from "../realtime/freshness";
import type { ModalityProgress, TrustSnapshot, TrustThresholds } from "@bbauth/capture";
import { levelColor } from "../theme";
import { LevelChip } from "./LevelChip";
import { Sparkline, type SparklineProps } from "./Sparkline";

export interface TrustPanelProps {
  snapshot: TrustSnapshot;
  captureActive: boolean;
  /** Learning waits for a verified session: ask for a code (no button without it). */
  onVerify?: () => void;
}

/** The timeline's lines from the server's thresholds: re-challenge, and where "high" and "low" begin. */
export function thresholdLines(thresholds: TrustThresholds | null): Pick<SparklineProps, "threshold" | "levelLines"> {
  if (!thresholds) return {};
  return {
    threshold: thresholds.challenge_below,
    levelLines: [
      { at: thresholds.high_at, level: "high" },
      { at: thresholds.low_at, level: "critical" },
    ],
  };
}

/**
 * The live trust indicator: score, level, whether recent behaviour backs it, the timeline, and
 * enrollment while learning.
 */
export function TrustPanel({ snapshot, captureActive, onVerify }: TrustPanelProps) {
  const { trust, history, enrollment, enrollmentPaused, trained, connection, challenged, thresholds } = snapshot;
  const verified = useVerified(snapshot);
  const enrolling = !trained.keystroke || !trained.mouse;
  const score = trust ? Math.round(trust.score) : null;
  const muted = Boolean(trust) && !verified;

  return (
    <Paper
      sx={{ p: 2 }}
      data-testid="trust-panel"
      data-keystroke-model={trained.keystroke ? "ready" : "learning"}
      data-mouse-model={trained.mouse ? "ready" : "learning"}
      data-windows={trust?.windows ?? 0}
      data-verified={verified}
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
          sx={{ fontWeight: 700, color: muted ? "text.disabled" : levelColor(trust?.level), lineHeight: 1 }}
        >
          {score ?? "—"}
        </Typography>
        <Typography color="text.secondary">/ 100</Typography>
        <Box sx={{ flexGrow: 1 }} />
        <Box sx={{ opacity: muted ? 0.45 : 1 }}>
          <LevelChip level={trust?.level} />
        </Box>
      </Stack>
      {trust && (
        <Typography
          variant="body2"
          data-testid="trust-freshness"
          data-verified={verified}
          sx={{ mt: 1, fontWeight: muted ? 600 : 400, color: muted ? "warning.dark" : "text.secondary" }}
        >
          {verified ? "Verified by your recent typing, pointer use or code" : "Unverified — no recent typing or pointer use"}
        </Typography>
      )}
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
          {...thresholdLines(thresholds)}
          level={trust?.level}
          muted={muted}
          title={`Recent trust scores (${history.length})`}
        />
      </Box>
      {enrolling && (
        <Box sx={{ mt: 2 }} data-testid="enrollment">
          <Typography variant="subtitle2">Learning how you work</Typography>
          <Typography variant="caption" color="text.secondary" component="div" sx={{ mb: 1 }}>
            Until a model is trained for you, your typing and mouse use are only collected, not judged.
          </Typography>
          {enrollmentPaused && (
            <Alert
              severity="warning"
              sx={{ mb: 1 }}
              data-testid="enrollment-paused"
              action={
                onVerify && (
                  <Button color="inherit" size="small" onClick={onVerify} data-testid="enrollment-verify">
                    Confirm
                  </Button>
                )
              }
            >
              Learning paused — confirm it's you to continue
            </Alert>
          )}
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
  const verified = useVerified(snapshot);
  const muted = Boolean(trust) && !verified;
  return (
    <Stack
      direction="row"
      alignItems="center"
      spacing={1}
      data-testid="trust-badge"
      data-verified={!muted}
      title={muted ? "Unverified — no recent typing or pointer use" : undefined}
      sx={{ bgcolor: "rgba(255,255,255,0.95)", borderRadius: 2, px: 1, py: 0.25 }}
    >
      <Sparkline values={history.slice(-30)} width={64} height={22} level={trust?.level} muted={muted} />
      <Typography variant="body2" sx={{ fontWeight: 700, color: muted ? "text.disabled" : levelColor(trust?.level), minWidth: 22 }}>
        {trust ? Math.round(trust.score) : "—"}
      </Typography>
    </Stack>
  );
}
