import { createTheme } from "@mui/material/styles";
import type { TrustLevel } from "@bbauth/capture";

export const LEVEL_COLORS: Record<TrustLevel, string> = {
  high: "#2e7d32",
  medium: "#ed8f02",
  low: "#e65100",
  critical: "#c62828",
};

export const LEVEL_LABELS: Record<TrustLevel, string> = {
  high: "High",
  medium: "Medium",
  low: "Low",
  critical: "Critical",
};

export function levelColor(level: TrustLevel | null | undefined): string {
  return level ? LEVEL_COLORS[level] : "#9e9e9e";
}

/** People who ask their system for less motion get no transitions or ripples. */
const reduceMotion =
  typeof window !== "undefined" && Boolean(window.matchMedia?.("(prefers-reduced-motion: reduce)").matches);

export const theme = createTheme({
  ...(reduceMotion ? { transitions: { create: () => "none" } } : {}),
  palette: {
    mode: "light",
    primary: { main: "#1f4e79" },
    secondary: { main: "#2e7d32" },
    background: { default: "#f4f6f9" },
  },
  shape: { borderRadius: 10 },
  typography: {
    fontFamily: '"Inter", "Segoe UI", "Roboto", "DejaVu Sans", "Helvetica", "Arial", sans-serif',
    h5: { fontWeight: 600 },
    h6: { fontWeight: 600 },
  },
  components: {
    MuiPaper: { defaultProps: { elevation: 0 }, styleOverrides: { root: { border: "1px solid #e0e4ea" } } },
    MuiAppBar: { styleOverrides: { root: { border: "none" } } },
    MuiButton: { defaultProps: { disableElevation: true }, styleOverrides: { root: { textTransform: "none" } } },
    MuiButtonBase: { defaultProps: { disableRipple: reduceMotion } },
  },
});
