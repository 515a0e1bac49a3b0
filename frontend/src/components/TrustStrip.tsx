import Box from "@mui/material/Box";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import type { TrustSnapshot } from "@bbauth/capture";
import { isLearning, isOffline } from "../realtime/trustWords";
import { LEVEL_LABELS, levelColor } from "../theme";
import { LevelIcon } from "./LevelIcon";

/**
 * On phones, where the trust panel is far down the page: one line at the top with the level
 * (icon, word, score), a word when learning or offline, and a link to the panel.
 */
export function TrustStrip({ snapshot }: { snapshot: TrustSnapshot }) {
  const { trust, challenged } = snapshot;
  const offline = isOffline(snapshot);
  const learning = isLearning(snapshot);
  const level = trust && !offline && !learning ? trust.level : null;
  const text = offline
    ? "Offline — reconnecting"
    : !trust
      ? "Connecting…"
      : learning
        ? "Learning — not checked yet"
        : `Trust ${Math.round(trust.score)} · ${LEVEL_LABELS[trust.level]}${challenged ? " · code needed" : ""}`;
  return (
    <Paper
      component="aside"
      aria-label="Trust summary"
      data-testid="trust-strip"
      sx={{
        display: { xs: "flex", md: "none" },
        alignItems: "center",
        gap: 1,
        px: 1.5,
        py: 1,
        position: "sticky",
        top: 60,
        zIndex: 2,
        borderLeft: `6px solid ${levelColor(level)}`,
      }}
    >
      {level && <LevelIcon level={level} color={levelColor(level)} size={20} />}
      <Typography variant="body2" sx={{ fontWeight: 700, color: level ? levelColor(level) : "text.secondary" }}>
        {text}
      </Typography>
      <Box sx={{ flexGrow: 1 }} />
      <Link href="#trust-panel" variant="body2">
        Details
      </Link>
    </Paper>
  );
}
