import { levelColor } from "../theme";
import type { TrustLevel } from "@bbauth/capture";

export interface SparklineProps {
  /** Scores 0–100, oldest first. */
  values: number[];
  width?: number;
  height?: number;
  /** A dashed line at this score (the re-challenge threshold). */
  threshold?: number;
  /** Dotted lines where the levels begin (e.g. "high" at 70), in their colours. */
  levelLines?: { at: number; level: TrustLevel }[];
  level?: TrustLevel | null;
  /** Draw the line grey: the score is not backed by recent evidence. */
  muted?: boolean;
  /** Axis labels and a light grid: the timeline chart rather than a table cell's sparkline. */
  axes?: boolean;
  title?: string;
}

/** A small hand-drawn SVG line chart of trust scores (0–100). */
export function Sparkline({
  values,
  width = 120,
  height = 32,
  threshold,
  levelLines = [],
  level,
  muted = false,
  axes = false,
  title,
}: SparklineProps) {
  const pad = axes ? { left: 26, right: 6, top: 6, bottom: 6 } : { left: 1, right: 3, top: 3, bottom: 3 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const y = (v: number) => pad.top + h - (Math.max(0, Math.min(100, v)) / 100) * h;
  const n = values.length;
  const x = (i: number) => pad.left + (n <= 1 ? w : (i / (n - 1)) * w);
  const color = muted ? levelColor(null) : levelColor(level ?? null);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const area = n > 1 ? `${pad.left},${pad.top + h} ${points} ${x(n - 1).toFixed(1)},${pad.top + h}` : "";

  return (
    <svg
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={title ?? `Trust over time: ${n ? values.map((v) => Math.round(v)).join(", ") : "no data yet"}`}
      data-testid="sparkline"
      data-points={n}
    >
      {axes &&
        [0, 50, 100].map((v) => (
          <g key={v}>
            <line x1={pad.left} x2={pad.left + w} y1={y(v)} y2={y(v)} stroke="#e6e9ee" strokeWidth={1} />
            <text x={pad.left - 4} y={y(v) + 3.5} fontSize={10} textAnchor="end" fill="#7a8594">
              {v}
            </text>
          </g>
        ))}
      {levelLines.map(({ at, level: from }) => (
        <line
          key={`${from}-${at}`}
          x1={pad.left}
          x2={pad.left + w}
          y1={y(at)}
          y2={y(at)}
          stroke={levelColor(from)}
          strokeWidth={1}
          strokeDasharray="1 3"
          opacity={0.7}
          data-testid="sparkline-level-line"
          data-at={at}
          data-level={from}
        />
      ))}
      {threshold !== undefined && (
        <line
          data-testid="sparkline-threshold"
          data-at={threshold}
          x1={pad.left}
          x2={pad.left + w}
          y1={y(threshold)}
          y2={y(threshold)}
          stroke="#c62828"
          strokeWidth={1}
          strokeDasharray="3 3"
          opacity={0.6}
        />
      )}
      {n > 1 && <polygon points={area} fill={color} opacity={0.12} />}
      {n > 1 && <polyline points={points} fill="none" stroke={color} strokeWidth={axes ? 2 : 1.5} strokeLinejoin="round" />}
      {n > 0 && <circle cx={x(n - 1)} cy={y(values[n - 1])} r={axes ? 3.5 : 2.5} fill={color} />}
      {n === 0 && !axes && <line x1={pad.left} x2={pad.left + w} y1={pad.top + h / 2} y2={pad.top + h / 2} stroke="#ccd2da" strokeDasharray="2 3" />}
    </svg>
  );
}
