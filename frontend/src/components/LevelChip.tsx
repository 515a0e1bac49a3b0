import Chip from "@mui/material/Chip";
import { LEVEL_LABELS, levelColor } from "../theme";
import type { TrustLevel } from "@bbauth/capture";
import { LevelIcon } from "./LevelIcon";

/**
 * A trust level as a chip: filled while it is current, outlined (same colour, on the page's
 * white) when it is ``muted`` — an unverified session's last level. Never faded: a faded chip
 * fails contrast (WCAG 1.4.3).
 */
export function LevelChip({
  level,
  size = "small",
  muted = false,
}: {
  level: TrustLevel | null | undefined;
  size?: "small" | "medium";
  muted?: boolean;
}) {
  const color = levelColor(level);
  return (
    <Chip
      size={size}
      variant={muted ? "outlined" : "filled"}
      icon={level ? <LevelIcon level={level} color={muted ? color : "#fff"} /> : undefined}
      label={level ? LEVEL_LABELS[level] : "—"}
      data-testid="trust-level"
      data-level={level ?? ""}
      data-muted={muted}
      sx={{
        ...(muted ? { color, borderColor: color, borderStyle: "dashed" } : { bgcolor: color, color: "#fff" }),
        fontWeight: 600,
        minWidth: 64,
        "& .MuiChip-icon": { ml: 0.75, mr: -0.25 },
      }}
    />
  );
}
