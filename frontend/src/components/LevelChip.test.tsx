import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LevelChip } from "./LevelChip";
import { LEVEL_COLORS } from "../theme";

/** WCAG relative luminance contrast of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, bl] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe("the level chip", () => {
  it("shows an unverified session's last level outlined in full colour, never faded", () => {
    render(<LevelChip level="high" muted />);
    const chip = screen.getByTestId("trust-level");
    expect(chip).toHaveAttribute("data-muted", "true");
    expect(chip.className).toMatch(/MuiChip-outlined/);
    const style = getComputedStyle(chip);
    expect(style.opacity === "" || style.opacity === "1").toBe(true);
    expect(chip.parentElement && getComputedStyle(chip.parentElement).opacity).not.toBe("0.45");
  });

  it("reads at 4.5:1 in every state: white on each level, each level on white, white on no level", () => {
    for (const color of Object.values(LEVEL_COLORS)) expect(contrast(color, "#ffffff")).toBeGreaterThanOrEqual(4.5);
    render(<LevelChip level={null} />);
    const bg = getComputedStyle(screen.getByTestId("trust-level")).backgroundColor;
    const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
    const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
    expect(contrast(hex, "#ffffff")).toBeGreaterThanOrEqual(4.5);
  });
});
