import Box from "@mui/material/Box";
import Tooltip from "@mui/material/Tooltip";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import type { ScoredWindow } from "../../api/types";
import { levelColor } from "../../theme";
import type { TrustLevel } from "@bbauth/capture";

export interface TrustTimelineProps {
  windows: ScoredWindow[];
  /** A dashed line at the re-challenge threshold. */
  threshold?: number;
  width?: number;
  height?: number;
}

/** What moved a window's score, in words: the explanation an analyst reads. */
export function explain(window: ScoredWindow): string {
  const words = window.reasons.map((r) => r.text);
  return words.length ? words.join("; ") : "nothing stood out against the profile";
}

function label(window: ScoredWindow): string {
  const at = new Date(window.at * 1000).toLocaleTimeString();
  return `${at} · ${window.modality} · trust ${Math.round(window.score)}: ${explain(window)}`;
}

/**
 * The session's trust after each scored window, one point per window. Each point is focusable and
 * tells, on hover or focus, why that window scored as it did (the words below the chart too).
 */
export function TrustTimeline({ windows, threshold, width = 640, height = 160 }: TrustTimelineProps) {
  const [picked, setPicked] = useState<number | null>(null);
  const pad = { left: 28, right: 8, top: 8, bottom: 8 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const n = windows.length;
  const x = (i: number) => pad.left + (n <= 1 ? w / 2 : (i / (n - 1)) * w);
  const y = (v: number) => pad.top + h - (Math.max(0, Math.min(100, v)) / 100) * h;
  const line = windows.map((win, i) => `${x(i).toFixed(1)},${y(win.score).toFixed(1)}`).join(" ");
  const shown = picked !== null && picked < n ? windows[picked] : null;

  return (
    <Box data-testid="trust-timeline" data-windows={n}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group" aria-label="Trust after each scored window">
        {[0, 50, 100].map((v) => (
          <g key={v}>
            <line x1={pad.left} x2={pad.left + w} y1={y(v)} y2={y(v)} stroke="#e6e9ee" strokeWidth={1} />
            <text x={pad.left - 4} y={y(v) + 3.5} fontSize={10} textAnchor="end" fill="#7a8594">
              {v}
            </text>
          </g>
        ))}
        {threshold !== undefined && (
          <line x1={pad.left} x2={pad.left + w} y1={y(threshold)} y2={y(threshold)} stroke="#c62828" strokeDasharray="4 3" strokeWidth={1} />
        )}
        {n > 1 && <polyline points={line} fill="none" stroke="#5c6b7a" strokeWidth={1.5} />}
        {windows.map((win, i) => (
          <Tooltip key={`${win.at}-${i}`} title={label(win)} arrow>
            <circle
              cx={x(i)}
              cy={y(win.score)}
              r={picked === i ? 6 : 4}
              fill={levelColor(win.level as TrustLevel)}
              stroke={win.rule || win.liveness ? "#c62828" : "#fff"}
              strokeWidth={1.5}
              tabIndex={0}
              role="img"
              aria-label={label(win)}
              data-testid="timeline-point"
              onMouseEnter={() => setPicked(i)}
              onFocus={() => setPicked(i)}
            />
          </Tooltip>
        ))}
      </svg>
      <Typography variant="body2" color="text.secondary" aria-live="polite" data-testid="window-explanation" sx={{ minHeight: 40 }}>
        {n === 0
          ? "No window scored yet: the person is enrolling, idle, or the session is not connected."
          : shown
            ? label(shown)
            : "Point at (or tab to) a window to see why it scored as it did."}
      </Typography>
    </Box>
  );
}
