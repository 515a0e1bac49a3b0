import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { ADMIN, fakeApi, inTurn, signedIn } from "../../test/fakeApi";
import { renderApp } from "../../test/renderApp";
import { mockSocketFactory, type MockSocket } from "../../test/mockSocket";
import { SESSION_ROW } from "../../test/adminFeed";
import type { DetectionFigures, ScoredWindow, SessionDetail } from "../../api/types";

const WINDOW: ScoredWindow = {
  at: 1_700_000_100,
  modality: "keystroke",
  score: 92,
  level: "high",
  p_genuine: 0.91,
  window_size: 30,
  model_version: 1,
  reasons: [],
  liveness: null,
  rule: null,
};
const SLOW: ScoredWindow = {
  ...WINDOW,
  at: 1_700_000_110,
  score: 41,
  level: "low",
  p_genuine: 0.12,
  rule: "challenge_below",
  reasons: [{ feature: "hold_mean", llr: -1.8, change: 0.38, text: "hold times 38 % longer than usual" }],
};

const DETAIL: SessionDetail = {
  session: {
    id: SESSION_ROW.session_id,
    user_id: "u-alice",
    email: "alice@example.com",
    state: "active",
    created_at: "2031-03-04T09:00:00Z",
    expires_at: "2031-03-04T21:00:00Z",
    last_seen_at: "2031-03-04T09:05:00Z",
    ip: "203.0.113.7",
    user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chromium",
    stepped_up_at: null,
    ended_by: null,
    revoked_reason: null,
    liveness: null,
  },
  device: { id: "d1", label: "", created_at: "2031-03-01T09:00:00Z", last_seen_at: "2031-03-04T09:00:00Z" },
  connected: true,
  model_versions: { keystroke: 1, mouse: null },
  actions: 60,
  liveness_flags: [],
  challenges: [
    { at: "2031-03-04T09:02:00Z", cause: "trust", reason: "trust fell", outcome: "passed", answered_at: "2031-03-04T09:02:30Z", wrong_codes: 1, actions: 30, model: "keystroke v1" },
    { at: "2031-03-04T09:04:00Z", cause: "admin", reason: "odd", outcome: "expired", answered_at: null, wrong_codes: 0, actions: null, model: null },
  ],
  windows: [WINDOW],
};

const FIGURES: DetectionFigures = {
  since: "2031-02-02T09:00:00Z",
  at: "2031-03-04T09:00:00Z",
  hours: 12.5,
  false_challenges: 3,
  false_challenges_per_hour: 0.24,
  outcomes: { passed: 3, failed: 1, expired: 0, open: 0 },
  seconds_to_detect: [95],
  median_seconds_to_detect: 95,
  gini: 0.42,
  models: [{ model: "keystroke v1", ania: 62, impostor_spans: 1, anga: 480, genuine_spans: 3 }],
  trust_bins: [0, 0, 0, 1, 0, 0, 0, 2, 3, 9],
  users: [{ user_id: "u-alice", email: "alice@example.com", hours: 12.5, false_challenges: 3, false_challenges_per_hour: 0.24, caught: 1 }],
};

const DETAIL_PATH = `GET /api/admin/sessions/${SESSION_ROW.session_id}`;
const routes = {
  "GET /api/auth/me": { status: 200, body: ADMIN },
  "GET /api/admin/behavior": { status: 200, body: { users: [] } },
  "GET /api/admin/users": { status: 200, body: { users: [], total: 0 } },
  "GET /api/admin/detection": { status: 200, body: FIGURES },
};

async function dashboardWithOneSession(): Promise<MockSocket> {
  const { factory, sockets } = mockSocketFactory();
  await renderApp(<App socketFactory={factory} />);
  const socket = sockets.find((s) => s.namespace === "/admin");
  if (!socket) throw new Error("no /admin socket");
  await socket.handshake();
  act(() => {
    socket.serverSends("connect");
    socket.serverSends("sessions", { sessions: [SESSION_ROW], at: 1_700_000_125 });
  });
  return socket;
}

describe("a session's drill-down", () => {
  beforeEach(() => {
    signedIn(ADMIN);
    window.history.replaceState(null, "", "/admin");
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("opens from the session's row with its device, agent, models and challenges with outcomes", async () => {
    fakeApi({ ...routes, [DETAIL_PATH]: { status: 200, body: DETAIL } });
    await dashboardWithOneSession();

    await userEvent.click(within(screen.getByTestId("session-row")).getByTestId("action-details"));

    const dialog = await screen.findByTestId("session-drilldown");
    await waitFor(() => expect(within(dialog).getByTestId("drilldown-agent")).toHaveTextContent("Chromium"));
    expect(dialog).toHaveTextContent("203.0.113.7");
    expect(within(dialog).getByTestId("drilldown-models")).toHaveTextContent("keystroke v1 · mouse enrolling");
    expect(within(dialog).getByTestId("drilldown-state")).toHaveTextContent("active · live");
    expect(within(dialog).getByTestId("drilldown-liveness")).toHaveTextContent("No flag");
    const [passed, expired] = within(dialog).getAllByTestId("challenge-row");
    expect(passed).toHaveAttribute("data-outcome", "passed");
    expect(passed).toHaveTextContent("keystroke v1");
    expect(expired).toHaveAttribute("data-outcome", "expired");
    // Its scrolling content is a named region the keyboard can reach (and scroll).
    const content = within(dialog).getByTestId("drilldown-content");
    expect(content).toHaveAttribute("tabindex", "0");
    expect(screen.getByRole("region", { name: /session/i })).toBe(content);

    await userEvent.click(within(dialog).getByTestId("drilldown-close"));
    await waitFor(() => expect(screen.queryByTestId("session-drilldown")).toBeNull());
  });

  it("shows new windows as they are scored, and each window's explanation on hover or focus", async () => {
    const { calls } = fakeApi({
      ...routes,
      [DETAIL_PATH]: inTurn(
        { status: 200, body: DETAIL },
        { status: 200, body: { ...DETAIL, windows: [WINDOW, SLOW], liveness_flags: [{ at: "2031-03-04T09:03:00Z", liveness: "replay", modality: "keystroke" }] } },
      ),
    });
    await dashboardWithOneSession();
    await userEvent.click(screen.getByTestId("action-details"));
    const timeline = await screen.findByTestId("trust-timeline");
    await waitFor(() => expect(timeline).toHaveAttribute("data-windows", "1"));

    // The view asks again while open (every 2 s): the second answer brings a new window.
    await waitFor(() => expect(screen.getByTestId("trust-timeline")).toHaveAttribute("data-windows", "2"), { timeout: 5000 });
    expect(calls.filter((c) => c.path.startsWith("/api/admin/sessions/")).length).toBeGreaterThanOrEqual(2);
    expect(screen.getByTestId("drilldown-liveness")).toHaveTextContent("replay (keystroke)");

    const [first, second] = screen.getAllByTestId("timeline-point");
    fireEvent.mouseEnter(second);
    expect(screen.getByTestId("window-explanation")).toHaveTextContent("trust 41: hold times 38 % longer than usual");
    act(() => first.focus());
    expect(screen.getByTestId("window-explanation")).toHaveTextContent("trust 92: nothing stood out against the profile");
    expect(second).toHaveAccessibleName(/hold times 38 % longer than usual/);
  });

  it("says when the session is unknown", async () => {
    fakeApi({ ...routes, [DETAIL_PATH]: { status: 404, body: { type: "about:blank", title: "Not Found", status: 404, code: "not_found", detail: "No such session." } } });
    await dashboardWithOneSession();
    await userEvent.click(screen.getByTestId("action-details"));

    expect(await within(await screen.findByTestId("session-drilldown")).findByRole("alert")).toHaveTextContent("No such session.");
  });
});

describe("the detection figures card", () => {
  beforeEach(() => {
    signedIn(ADMIN);
    window.history.replaceState(null, "", "/admin");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows the false-challenge rate, Gini, time to detect, ANIA/ANGA and per-user rates with charts", async () => {
    fakeApi(routes);
    await dashboardWithOneSession();

    const card = await screen.findByTestId("detection-card");
    await waitFor(() => expect(within(card).getByTestId("figure-false-rate")).toHaveTextContent("0.240"));
    expect(within(card).getByTestId("figure-gini")).toHaveTextContent("0.42");
    expect(within(card).getByTestId("figure-time-to-detect")).toHaveTextContent("1 min");
    expect(within(card).getByTestId("detection-models")).toHaveTextContent("keystroke v1");
    expect(within(card).getByTestId("detection-models")).toHaveTextContent("480");
    expect(within(card).getByTestId("chart-outcomes")).toHaveAccessibleName("Trust challenges by outcome: passed 3, failed 1, expired 0, open 0");
    expect(within(card).getByTestId("chart-trust")).toHaveAccessibleName(/90 9$/);
    expect(within(card).getByTestId("detection-user")).toHaveTextContent("0.240");
  });
});
