import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import type { ReactNode } from "react";
import type { SessionDetail } from "../../api/types";
import { DataTable, EmptyRow } from "../../components/DataTable";
import { TrustTimeline } from "./TrustTimeline";
import { useSessionDetail } from "./useSessionDetail";

type Outcome = SessionDetail["challenges"][number]["outcome"];

const OUTCOME_COLORS: Record<Outcome, "success" | "error" | "warning" | "default"> = {
  passed: "success",
  failed: "error",
  expired: "warning",
  open: "default",
};
const CHALLENGE_COLUMNS = ["When", "Cause", "Reason", "Outcome", { label: "Wrong codes", align: "right" }, { label: "Actions before", align: "right" }, "Model"] as const;

export interface SessionDrilldownProps {
  sessionId: string;
  /** The re-challenge threshold, drawn on the timeline. */
  threshold?: number;
  onClose: () => void;
}

function Fact({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <Box sx={{ minWidth: 160 }}>
      <Typography variant="caption" color="text.secondary" component="div">
        {label}
      </Typography>
      <Typography variant="body2" data-testid={testId} sx={{ wordBreak: "break-word" }}>
        {children}
      </Typography>
    </Box>
  );
}

function versions(detail: SessionDetail): string {
  const named = Object.entries(detail.model_versions).map(([m, v]) => `${m} ${v == null ? "enrolling" : `v${v}`}`);
  return named.length ? named.join(" · ") : "—";
}

/** One session, opened from its row: who and where, its trust window by window, flags and challenges; live while open. */
export function SessionDrilldown({ sessionId, threshold, onClose }: SessionDrilldownProps) {
  const detail = useSessionDetail(sessionId);
  const d = detail.data?.session.id === sessionId ? detail.data : null;

  return (
    <Dialog open onClose={onClose} maxWidth="md" fullWidth aria-labelledby="drilldown-title" data-testid="session-drilldown">
      <DialogTitle id="drilldown-title">
        Session {sessionId.slice(0, 8)}
        {d && (
          <Typography component="span" variant="body1" color="text.secondary" sx={{ ml: 1 }}>
            {d.session.email}
          </Typography>
        )}
      </DialogTitle>
      {/* Scrolls on its own (a long session): focusable, so the keyboard can scroll it too. */}
      <DialogContent dividers tabIndex={0} role="region" aria-labelledby="drilldown-title" data-testid="drilldown-content">
        {detail.error && (
          <Alert severity="warning" sx={{ mb: 1 }}>
            {detail.error}
          </Alert>
        )}
        {!d ? (
          <Typography color="text.secondary">Loading…</Typography>
        ) : (
          <Stack spacing={2}>
            <Stack direction="row" flexWrap="wrap" useFlexGap spacing={2}>
              <Fact label="State" testId="drilldown-state">
                {d.session.state}
                {d.connected ? " · live" : " · not connected"}
              </Fact>
              <Fact label="IP">{d.session.ip || "—"}</Fact>
              <Fact label="Device" testId="drilldown-device">
                {d.device ? d.device.label || `known since ${new Date(d.device.created_at).toLocaleDateString()}` : "no known device"}
              </Fact>
              <Fact label="Models" testId="drilldown-models">
                {versions(d)}
              </Fact>
              <Fact label="Actions scored">{d.actions}</Fact>
            </Stack>
            <Fact label="User agent" testId="drilldown-agent">
              {d.session.user_agent || "—"}
            </Fact>
            <Box>
              <Typography variant="subtitle2" component="h3">
                Liveness
              </Typography>
              {d.liveness_flags.length === 0 ? (
                <Typography variant="body2" color="text.secondary" data-testid="drilldown-liveness">
                  No flag: the input looked live.
                </Typography>
              ) : (
                <Stack direction="row" spacing={1} data-testid="drilldown-liveness">
                  {d.liveness_flags.map((f) => (
                    <Chip key={`${f.at}-${f.liveness}`} size="small" color="error" label={`${f.liveness}${f.modality ? ` (${f.modality})` : ""} · ${new Date(f.at).toLocaleTimeString()}`} />
                  ))}
                </Stack>
              )}
            </Box>
            <Box>
              <Typography variant="subtitle2" component="h3">
                Trust, window by window
              </Typography>
              <TrustTimeline windows={d.windows} threshold={threshold} />
            </Box>
            <Box>
              <Typography variant="subtitle2" component="h3">
                Challenges
              </Typography>
              <DataTable columns={CHALLENGE_COLUMNS} testId="drilldown-challenges">
                {d.challenges.length === 0 && <EmptyRow colSpan={CHALLENGE_COLUMNS.length}>Never challenged.</EmptyRow>}
                {d.challenges.map((c) => (
                  <TableRow key={c.at} data-testid="challenge-row" data-outcome={c.outcome}>
                    <TableCell>{new Date(c.at).toLocaleTimeString()}</TableCell>
                    <TableCell>{c.cause}</TableCell>
                    <TableCell>{c.reason}</TableCell>
                    <TableCell>
                      <Chip size="small" label={c.outcome} color={OUTCOME_COLORS[c.outcome]} />
                    </TableCell>
                    <TableCell align="right">{c.wrong_codes}</TableCell>
                    <TableCell align="right">{c.actions ?? "—"}</TableCell>
                    <TableCell>{c.model ?? "—"}</TableCell>
                  </TableRow>
                ))}
              </DataTable>
            </Box>
          </Stack>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} data-testid="drilldown-close">
          Close
        </Button>
      </DialogActions>
    </Dialog>
  );
}
