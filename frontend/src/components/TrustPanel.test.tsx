import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { INITIAL_SNAPSHOT, type TrustSnapshot } from "@bbauth/capture";
import { TrustBadge, TrustPanel } from "./TrustPanel";

const NOW = Date.parse("2031-03-04T09:00:00Z");
const THRESHOLDS = { challenge_below: 40, high_at: 80, low_at: 20, evidence_max_age_s: 120 };

function snapshot(patch: Partial<TrustSnapshot> = {}): TrustSnapshot {
  return {
    ...INITIAL_SNAPSHOT,
    connection: "connected",
    thresholds: THRESHOLDS,
    trust: { score: 91, level: "high", windows: 4, verified: true, evidence_age_s: 100 },
    trustAt: NOW,
    history: [100, 95, 91],
    trained: { keystroke: true, mouse: true },
    ...patch,
  };
}

const freshness = () => screen.getByTestId("trust-freshness");

describe("the trust panel", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it("turns unverified by itself once the last evidence is older than the server's maximum age", () => {
    render(<TrustPanel snapshot={snapshot()} captureActive />);
    expect(freshness()).toHaveAttribute("data-verified", "true");
    expect(screen.getByTestId("trust-panel")).not.toHaveTextContent("Unverified");

    act(() => vi.advanceTimersByTime(19_000)); // evidence 119 s old
    expect(freshness()).toHaveAttribute("data-verified", "true");

    act(() => vi.advanceTimersByTime(2_000)); // 121 s: no message came, time alone did it
    expect(freshness()).toHaveTextContent("Unverified — no recent typing or pointer use");
    expect(screen.getByTestId("trust-panel")).toHaveAttribute("data-verified", "false");
    expect(screen.getByTestId("trust-score")).toHaveTextContent("91"); // still shown, de-emphasized
  });

  it("says so at once when the server already finds the session unverified", () => {
    render(<TrustPanel snapshot={snapshot({ trust: { score: 75, level: "high", windows: 0, verified: false, evidence_age_s: 300 } })} captureActive />);
    expect(freshness()).toHaveTextContent("Unverified — no recent typing or pointer use");
  });

  it("counts a code entered on the session as evidence, for the same maximum age", () => {
    const unverified = { score: 75, level: "high" as const, windows: 0, verified: false, evidence_age_s: null };
    render(<TrustPanel snapshot={snapshot({ trust: unverified, codeAt: NOW })} captureActive />);
    expect(freshness()).toHaveAttribute("data-verified", "true");
    act(() => vi.advanceTimersByTime(120_001));
    expect(freshness()).toHaveAttribute("data-verified", "false");
  });

  it("draws the re-challenge line and where the levels begin from the server's thresholds", () => {
    render(<TrustPanel snapshot={snapshot()} captureActive />);
    const timeline = screen.getByTestId("trust-timeline");
    expect(within(timeline).getByTestId("sparkline-threshold")).toHaveAttribute("data-at", "40");
    const lines = within(timeline).getAllByTestId("sparkline-level-line");
    expect(lines.map((l) => [l.getAttribute("data-level"), l.getAttribute("data-at")])).toEqual([
      ["high", "80"],
      ["critical", "20"],
    ]);
  });

  it("draws no threshold before the server has said what it is", () => {
    render(<TrustPanel snapshot={snapshot({ thresholds: null })} captureActive />);
    expect(screen.queryByTestId("sparkline-threshold")).toBeNull();
  });

  it("asks the person to confirm it's them when learning waits for a verified session", async () => {
    vi.useRealTimers();
    const onVerify = vi.fn();
    const user = userEvent.setup();
    const learning = { trained: { keystroke: false, mouse: true }, enrollmentPaused: true };
    render(<TrustPanel snapshot={snapshot(learning)} captureActive onVerify={onVerify} />);
    expect(screen.getByTestId("enrollment-paused")).toHaveTextContent("Learning paused — confirm it's you to continue");
    await user.click(screen.getByTestId("enrollment-verify"));
    expect(onVerify).toHaveBeenCalledTimes(1);
  });

  it("greys the app bar's badge out too", () => {
    render(<TrustBadge snapshot={snapshot()} />);
    expect(screen.getByTestId("trust-badge")).toHaveAttribute("data-verified", "true");
    act(() => vi.advanceTimersByTime(21_000));
    expect(screen.getByTestId("trust-badge")).toHaveAttribute("data-verified", "false");
  });

  it("labels the app bar's badge with the trust in words", () => {
    render(<TrustBadge snapshot={snapshot({ trust: { score: 51, level: "medium", windows: 4, verified: true, evidence_age_s: 1 } })} />);
    expect(screen.getByRole("img", { name: "Trust 51 of 100, medium" })).toBe(screen.getByTestId("trust-badge"));
    expect(screen.getByTestId("level-icon-medium")).toBeInTheDocument();
  });

  it("shows each level with its own icon and word, never by colour alone", () => {
    for (const level of ["high", "medium", "low", "critical"] as const) {
      const { unmount } = render(<TrustPanel snapshot={snapshot({ trust: { score: 50, level, windows: 1, verified: true, evidence_age_s: 1 } })} captureActive />);
      expect(within(screen.getByTestId("trust-level")).getByTestId(`level-icon-${level}`)).toBeInTheDocument();
      expect(screen.getByTestId("trust-level")).toHaveTextContent(/^(High|Medium|Low|Critical)$/);
      unmount();
    }
  });

  it("says it is still learning instead of showing a score nothing has checked", () => {
    render(<TrustPanel snapshot={snapshot({ trained: { keystroke: false, mouse: false }, trust: { score: 100, level: "high", windows: 0, verified: true, evidence_age_s: 1 } })} captureActive />);
    expect(screen.getByTestId("trust-score")).toHaveTextContent("Learning — not checked yet");
    expect(screen.queryByTestId("trust-level")).toBeNull(); // no "High" for what nothing checked
    expect(screen.getByTestId("enrollment-howto")).toHaveTextContent("about 1,000 keystrokes, ~4 minutes");
  });

  it("warns at Medium, before the re-challenge, naming the threshold", () => {
    render(<TrustPanel snapshot={snapshot({ trust: { score: 62, level: "medium", windows: 4, verified: true, evidence_age_s: 1 } })} captureActive />);
    expect(screen.getByTestId("trust-warning")).toHaveTextContent("Below 40 you will be asked for a one-time code.");
  });

  it("shows an offline state instead of a stale score", () => {
    render(<TrustPanel snapshot={snapshot({ connection: "reconnecting" })} captureActive />);
    expect(screen.getByTestId("trust-score")).toHaveTextContent("—");
    expect(screen.getByTestId("trust-offline")).toHaveTextContent("Connection lost — reconnecting");
    expect(screen.getByTestId("trust-level")).toHaveAttribute("data-level", "");
    expect(screen.getByTestId("connection")).toHaveTextContent("Reconnecting…");
  });

  it("explains trust and the threshold line in a help popover", async () => {
    vi.useRealTimers();
    const user = userEvent.setup();
    render(<TrustPanel snapshot={snapshot()} captureActive />);
    await user.click(screen.getByRole("button", { name: "What is trust?" }));
    const help = await screen.findByRole("dialog", { name: "About trust" });
    expect(help).toHaveTextContent("The dashed line at 40 is the threshold");
  });
});
