import { createTheme } from "@mui/material/styles";
import type { TrustLevel } from "@bbauth/capture";

/** Each at least 4.5:1 against white (text on the page, and white text on the colour). */
export const LEVEL_COLORS: Record<TrustLevel, string> = {
  high: "#2e7d32",
  medium: "#a15c00",
  low: "#c2410c",
  critical: "#c62828",
};

export const LEVEL_LABELS: Record<TrustLevel, string> = {
  high: "High",
  medium: "Medium",
  low: "Low",
  critical: "Critical",
};

/** No level yet: a grey that white text still reads on (6.2:1). */
const NO_LEVEL = "#616161";

export function levelColor(level: TrustLevel | null | undefined): string {
  return level ? LEVEL_COLORS[level] : NO_LEVEL;
}

/**
 * Keyboard focus is always visible, ripples or not: a white ring inside a dark blue one shows on
 * the page and on the app bar alike.
 */
const focusRing = {
  "&.Mui-focusVisible, &:focus-visible": {
    outline: "2px solid #fff",
    outlineOffset: 0,
    boxShadow: "0 0 0 4px #1f4e79",
  },
};

/** People who ask their system for less motion get no transitions or ripples. */
const reduceMotion =
  typeof window !== "undefined" && Boolean(window.matchMedia?.("(prefers-reduced-motion: reduce)").matches);

export const theme = createTheme({
  ...(reduceMotion ? { transitions: { create: () => "none" } } : {}),
  palette: {
    mode: "light",
    primary: { main: "#1f4e79" },
    secondary: { main: "#2e7d32" },
    // MUI's default orange (#ed6c02) is 3:1 on white: chips and text in it fail WCAG 1.4.3.
    warning: { main: "#a15c00" },
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
    MuiButtonBase: { defaultProps: { disableRipple: reduceMotion }, styleOverrides: { root: focusRing } },
    MuiLink: { styleOverrides: { root: focusRing } },
  },
});
