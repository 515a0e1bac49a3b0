import Chip from "@mui/material/Chip";
import { LEVEL_LABELS, levelColor } from "../theme";
import type { TrustLevel } from "@bbauth/capture";
import { LevelIcon } from "./LevelIcon";

export function LevelChip({ level, size = "small" }: { level: TrustLevel | null | undefined; size?: "small" | "medium" }) {
  return (
    <Chip
      size={size}
      icon={level ? <LevelIcon level={level} color="#fff" /> : undefined}
      label={level ? LEVEL_LABELS[level] : "—"}
      data-testid="trust-level"
      data-level={level ?? ""}
      sx={{ bgcolor: levelColor(level), color: "#fff", fontWeight: 600, minWidth: 64, "& .MuiChip-icon": { ml: 0.75, mr: -0.25 } }}
    />
  );
}
