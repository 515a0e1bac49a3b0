import Chip from "@mui/material/Chip";
import { LEVEL_LABELS, levelColor } from "../theme";
import type { TrustLevel } from "@bbauth/capture";

export function LevelChip({ level, size = "small" }: { level: TrustLevel | null | undefined; size?: "small" | "medium" }) {
  return (
    <Chip
      size={size}
      label={level ? LEVEL_LABELS[level] : "—"}
      data-testid="trust-level"
      data-level={level ?? ""}
      sx={{ bgcolor: levelColor(level), color: "#fff", fontWeight: 600, minWidth: 64 }}
    />
  );
}
