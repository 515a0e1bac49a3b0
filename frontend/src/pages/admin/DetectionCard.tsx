import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { api } from "../../api/client";
import type { DetectionFigures } from "../../api/types";
import { useLoaded } from "../../api/useLoaded";
import { CardTitle } from "../../components/CardTitle";
import { DataTable, EmptyRow } from "../../components/DataTable";
import { formatDuration } from "../../format";

const MODEL_COLUMNS = ["Model", { label: "ANIA", align: "right" }, { label: "Impostors", align: "right" }, { label: "ANGA", align: "right" }, { label: "False challenges", align: "right" }] as const;
const USER_COLUMNS = ["User", { label: "Hours", align: "right" }, { label: "False challenges", align: "right" }, { label: "Per hour", align: "right" }, { label: "Impostors caught", align: "right" }] as const;
const OUTCOME_COLORS: Record<string, string> = { passed: "#2e7d32", failed: "#c62828", expired: "#ed6c02", open: "#9e9e9e" };

/** GET /api/admin/detection. */
async function loadFigures(): Promise<DetectionFigures> {
  return api.get<DetectionFigures>("/api/admin/detection");
}

function figure(value: number | null | undefined, digits = 2): string {
  return value == null ? "—" : value.toFixed(digits);
}

/** Vertical bars of `counts`, labelled below: a chart in a few SVG rectangles. */
export function Bars({ counts, labels, colors, title, testId, step = 28 }: { counts: number[]; labels: string[]; colors?: string[]; title: string; testId: string; step?: number }) {
  const width = step * counts.length + 8;
  const height = 96;
  const top = Math.max(1, ...counts);
  return (
    <svg width={width} height={height + 16} role="img" aria-label={`${title}: ${counts.map((c, i) => `${labels[i]} ${c}`).join(", ")}`} data-testid={testId}>
      {counts.map((count, i) => {
        const h = (count / top) * height;
        return (
          <g key={labels[i]}>
            <rect x={4 + i * step} y={height - h} width={step - 6} height={h} fill={colors?.[i] ?? "#5c6b7a"} data-count={count} />
            <text x={4 + i * step + (step - 6) / 2} y={height + 12} fontSize={9} textAnchor="middle" fill="#7a8594">
              {labels[i]}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function Figure({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Box sx={{ minWidth: 150 }}>
      <Typography variant="h5" component="div" data-testid={testId}>
        {value}
      </Typography>
      <Typography variant="caption" color="text.secondary">
        {label}
      </Typography>
    </Box>
  );
}

/** How detection works on this deployment: false challenges, time to detect, ANIA/ANGA, trust. */
export function DetectionCard() {
  const figures = useLoaded(loadFigures, { everyMs: 60_000 });
  const f = figures.data;
  const outcomes = ["passed", "failed", "expired", "open"];

  return (
    <Paper sx={{ p: 2 }} data-testid="detection-card">
      <CardTitle title="Detection on this deployment (30 days)" onRefresh={figures.reload} />
      {figures.error && <Alert severity="warning">{figures.error}</Alert>}
      {f && (
        <Stack spacing={2}>
          <Stack direction="row" flexWrap="wrap" useFlexGap spacing={3}>
            <Figure label="false challenges per hour of activity" value={figure(f.false_challenges_per_hour, 3)} testId="figure-false-rate" />
            <Figure label="Gini of per-user false-challenge rates" value={figure(f.gini)} testId="figure-gini" />
            <Figure
              label={`median time to detect (${f.seconds_to_detect.length} impostors)`}
              value={f.median_seconds_to_detect == null ? "—" : formatDuration(f.median_seconds_to_detect)}
              testId="figure-time-to-detect"
            />
            <Figure label="hours of activity" value={figure(f.hours, 2)} testId="figure-hours" />
          </Stack>
          <Stack direction="row" flexWrap="wrap" useFlexGap spacing={4}>
            <Box>
              <Typography variant="subtitle2" component="h3">
                Trust challenges by outcome
              </Typography>
              <Bars counts={outcomes.map((o) => f.outcomes[o] ?? 0)} labels={outcomes} colors={outcomes.map((o) => OUTCOME_COLORS[o])} title="Trust challenges by outcome" testId="chart-outcomes" step={52} />
            </Box>
            <Box>
              <Typography variant="subtitle2" component="h3">
                Trust of connected sessions
              </Typography>
              <Bars counts={f.trust_bins} labels={f.trust_bins.map((_, i) => `${i * 10}`)} title="Recent trust scores in bins of 10" testId="chart-trust" />
            </Box>
          </Stack>
          <DataTable columns={MODEL_COLUMNS} testId="detection-models">
            {f.models.length === 0 && <EmptyRow colSpan={MODEL_COLUMNS.length}>No trust challenge of a scoring model yet.</EmptyRow>}
            {f.models.map((m) => (
              <TableRow key={m.model}>
                <TableCell>{m.model}</TableCell>
                <TableCell align="right">{figure(m.ania, 0)}</TableCell>
                <TableCell align="right">{m.impostor_spans}</TableCell>
                <TableCell align="right">{figure(m.anga, 0)}</TableCell>
                <TableCell align="right">{m.genuine_spans}</TableCell>
              </TableRow>
            ))}
          </DataTable>
          <DataTable columns={USER_COLUMNS} testId="detection-users">
            {f.users.length === 0 && <EmptyRow colSpan={USER_COLUMNS.length}>No activity yet.</EmptyRow>}
            {f.users.map((u) => (
              <TableRow key={u.user_id} data-testid="detection-user" data-email={u.email}>
                <TableCell>{u.email}</TableCell>
                <TableCell align="right">{u.hours.toFixed(2)}</TableCell>
                <TableCell align="right">{u.false_challenges}</TableCell>
                <TableCell align="right">{figure(u.false_challenges_per_hour, 3)}</TableCell>
                <TableCell align="right">{u.caught}</TableCell>
              </TableRow>
            ))}
          </DataTable>
        </Stack>
      )}
    </Paper>
  );
}
