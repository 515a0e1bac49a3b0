import type { TrustLevel } from "@bbauth/capture";

/** 24×24 paths: a tick, a warning triangle, a down arrow, a cross in a circle. */
const PATHS: Record<TrustLevel, string> = {
  high: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z",
  medium: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z",
  low: "M20 12l-1.4-1.4-5.6 5.6V4h-2v12.2l-5.6-5.6L4 12l8 8z",
  critical:
    "M12 2C6.5 2 2 6.5 2 12s4.5 10 10 10 10-4.5 10-10S17.5 2 12 2m5 13.6L15.6 17 12 13.4 8.4 17 7 15.6 10.6 12 7 8.4 8.4 7 12 10.6 15.6 7 17 8.4 13.4 12z",
};

/** The level's shape, so that colour is never its only cue (decorative: the label says it). */
export function LevelIcon({ level, size = 16, color = "currentColor" }: { level: TrustLevel; size?: number; color?: string }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false" data-testid={`level-icon-${level}`}>
      <path d={PATHS[level]} fill={color} />
    </svg>
  );
}
