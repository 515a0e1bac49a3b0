import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import IconButton from "@mui/material/IconButton";
import LinearProgress from "@mui/material/LinearProgress";
import Paper from "@mui/material/Paper";
import Popover from "@mui/material/Popover";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useVerified } from "../realtime/freshness";
import type { ModalityProgress, TrustSnapshot, TrustThresholds } from "@bbauth/capture";
import { useState } from "react";
import { isLearning, isOffline, trustInWords } from "../realtime/trustWords";
import { levelColor } from "../theme";
import { LevelChip } from "./LevelChip";
import { LevelIcon } from "./LevelIcon";
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
  const learning = isLearning(snapshot);
  const offline = isOffline(snapshot);
  // Offline or still learning, a number would claim a check that is not happening.
  const score = trust && !learning && !offline ? Math.round(trust.score) : null;
  const level = score === null ? null : trust?.level;
  const muted = Boolean(trust) && !verified;
  const warn = level === "medium" && !challenged;

  return (
    <Paper
      sx={{ p: 2 }}
      id="trust-panel"
      component="section"
      aria-labelledby="trust-panel-title"
      data-testid="trust-panel"
      data-keystroke-model={trained.keystroke ? "ready" : "learning"}
      data-mouse-model={trained.mouse ? "ready" : "learning"}
      data-windows={trust?.windows ?? 0}
      data-verified={verified}
    >
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 1 }}>
        <Stack direction="row" alignItems="center">
          <Typography variant="overline" component="h2" color="text.secondary" id="trust-panel-title">
            Live trust
          </Typography>
          <TrustHelp thresholds={thresholds} />
        </Stack>
        <ConnectionChip connection={connection} challenged={challenged} captureActive={captureActive} />
      </Stack>
      <Stack direction="row" alignItems="baseline" spacing={1.5} aria-label={trustInWords(snapshot)} role="group">
        {learning && !offline ? (
          <Typography variant="h5" component="div" data-testid="trust-score" data-learning="true" sx={{ fontWeight: 700, color: "text.secondary" }}>
            Learning — not checked yet
          </Typography>
        ) : (
          <>
            <Typography
              variant="h3"
              component="div"
              data-testid="trust-score"
              sx={{ fontWeight: 700, color: muted || score === null ? "text.secondary" : levelColor(level), lineHeight: 1 }}
            >
              {score ?? "—"}
            </Typography>
            <Typography color="text.secondary">/ 100</Typography>
            <Box sx={{ flexGrow: 1 }} />
            <LevelChip level={level} muted={muted} />
          </>
        )}
      </Stack>
      {offline && (
        <Alert severity="warning" sx={{ mt: 1 }} data-testid="trust-offline">
          Connection lost — reconnecting. Trust is not checked until the connection is back.
        </Alert>
      )}
      {warn && (
        <Alert severity="warning" sx={{ mt: 1 }} data-testid="trust-warning">
          Trust is falling. Below {thresholds?.challenge_below ?? 50} you will be asked for a one-time code.
        </Alert>
      )}
      {/* Learning or not, sensitive operations ask for a code when the session is unverified. */}
      {trust && !offline && (
        <Typography
          variant="body2"
          data-testid="trust-freshness"
          data-verified={verified}
          sx={{ mt: 1, fontWeight: muted ? 600 : 400, color: muted ? WARNING_TEXT : "text.secondary" }}
        >
          {verified ? "Verified by your recent typing, pointer use or code" : "Unverified — no recent typing or pointer use"}
        </Typography>
      )}
      <Typography variant="caption" color="text.secondary" component="div" sx={{ mt: 0.5 }}>
        {trust ? `${trust.windows} checked stretch${trust.windows === 1 ? "" : "es"} of typing or pointer use` : "Waiting for the server…"}
        {snapshot.lastModality ? ` · last: ${snapshot.lastModality}` : ""}
      </Typography>
      <Box sx={{ mt: 1.5, maxWidth: "100%", overflow: "hidden" }} data-testid="trust-timeline">
        <Sparkline
          values={history.length ? history : trust ? [trust.score] : []}
          width={300}
          height={96}
          axes
          {...thresholdLines(thresholds)}
          level={trust?.level}
          muted={muted || learning || offline}
          title={`Recent trust scores (${history.length})`}
        />
      </Box>
      {enrolling && (
        <Box sx={{ mt: 2 }} data-testid="enrollment">
          <Typography variant="subtitle2" component="h3">
            Learning how you work
          </Typography>
          <Typography variant="body2" color="text.secondary" component="div" sx={{ mb: 1 }} data-testid="enrollment-howto">
            Type in Notes and use the pointer on this page as you normally do. It takes about{" "}
            {keystrokesToLearn(enrollment?.keystroke)} — until then your typing and pointer use are only collected, not checked.
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

/** Warning text at 4.5:1 or more on white (MUI's warning colours are lighter). */
const WARNING_TEXT = "#8a4b00";

/** Keystrokes in a window by default (BBAUTH_KEYSTROKE_WINDOW), and a steady typist's pace. */
const KEYS_PER_WINDOW = 50;
const KEYS_PER_MINUTE = 250;

/** "about 1,000 keystrokes, ~4 minutes" for the windows still needed (the default when unknown). */
export function keystrokesToLearn(progress: ModalityProgress | undefined): string {
  const windows = progress ? Math.max(0, progress.needed - progress.samples) : 20;
  const keys = windows * KEYS_PER_WINDOW;
  const minutes = Math.max(1, Math.round(keys / KEYS_PER_MINUTE));
  return `${keys.toLocaleString("en-US")} keystrokes, ~${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/** "What is trust?": a short explanation of the score and its lines. */
function TrustHelp({ thresholds }: { thresholds: TrustThresholds | null }) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const below = thresholds?.challenge_below ?? 50;
  return (
    <>
      <IconButton
        size="small"
        aria-label="What is trust?"
        aria-haspopup="dialog"
        aria-expanded={anchor ? "true" : undefined}
        onClick={(e) => setAnchor(e.currentTarget)}
        data-testid="trust-help"
        sx={{ ml: 0.5 }}
      >
        <svg width={18} height={18} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M11 18h2v-2h-2zm1-16C6.5 2 2 6.5 2 12s4.5 10 10 10 10-4.5 10-10S17.5 2 12 2m0 18c-4.4 0-8-3.6-8-8s3.6-8 8-8 8 3.6 8 8-3.6 8-8 8m0-14c-2.2 0-4 1.8-4 4h2c0-1.1.9-2 2-2s2 .9 2 2c0 2-3 1.8-3 5h2c0-2.3 3-2.5 3-5 0-2.2-1.8-4-4-4"
          />
        </svg>
      </IconButton>
      <Popover
        open={Boolean(anchor)}
        anchorEl={anchor}
        onClose={() => setAnchor(null)}
        anchorOrigin={{ vertical: "bottom", horizontal: "left" }}
        slotProps={{ paper: { sx: { p: 2, maxWidth: 320 }, role: "dialog", "aria-label": "About trust" } as object }}
      >
        <Typography variant="body2" sx={{ mb: 1 }} data-testid="trust-help-text">
          Trust (0–100) says how closely the way this session types and uses the pointer matches what bbauth learned of you.
          It rises with your usual behaviour and falls when it looks like someone else.
        </Typography>
        <Typography variant="body2">
          The dashed line at {below} is the threshold: below it the session is paused until you confirm with a one-time code.
          Between {thresholds?.high_at ?? 70} and {below} trust is Medium, a warning.
        </Typography>
      </Popover>
    </>
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
      sx={{ color: WARNING_TEXT, borderColor: WARNING_TEXT }}
      label={connection === "reconnecting" ? "Reconnecting…" : connection === "closed" ? "Offline" : "Connecting…"}
      data-testid="connection"
    />
  );
}

/** The compact indicator for the app bar, on every page: its words are its label. */
export function TrustBadge({ snapshot }: { snapshot: TrustSnapshot }) {
  const { trust, history } = snapshot;
  const verified = useVerified(snapshot);
  const hidden = isLearning(snapshot) || isOffline(snapshot);
  const muted = hidden || (Boolean(trust) && !verified);
  const level = trust && !hidden ? trust.level : null;
  const words = trustInWords(snapshot) + (trust && !hidden && !verified ? " (unverified: no recent typing or pointer use)" : "");
  return (
    <Stack
      direction="row"
      alignItems="center"
      spacing={0.75}
      role="img"
      aria-label={words}
      title={words}
      data-testid="trust-badge"
      data-verified={!muted}
      sx={{ bgcolor: "rgba(255,255,255,0.95)", borderRadius: 2, px: 1, py: 0.25, flexShrink: 0 }}
    >
      <Box sx={{ display: { xs: "none", sm: "block" }, lineHeight: 0 }}>
        <Sparkline values={history.slice(-30)} width={64} height={22} level={trust?.level} muted={muted} />
      </Box>
      {level && <LevelIcon level={level} color={muted ? "#616161" : levelColor(level)} />}
      <Typography variant="body2" sx={{ fontWeight: 700, color: muted ? "#616161" : levelColor(level), minWidth: 22 }}>
        {trust && !hidden ? Math.round(trust.score) : "—"}
      </Typography>
    </Stack>
  );
}
