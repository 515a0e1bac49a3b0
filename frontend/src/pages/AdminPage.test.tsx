import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ADMIN, fakeApi, inTurn, signedIn, stepUpRequired, withToken } from "../test/fakeApi";
import { renderApp } from "../test/renderApp";
import { mockSocketFactory, refused, type MockSocket } from "../test/mockSocket";
import { formatDuration } from "../format";
import { AT, COUNTS, page, SESSION_ROW } from "../test/adminFeed";
import type { AdminSessionRow } from "../contract/socket";

const ROW = SESSION_ROW;

const UNMONITORED = {
  session_id: "9d1f3e2a-5b6c-4d7e-8f90-1a2b3c4d5e6f",
  state: "active",
  email: "bob@example.com",
  last_seen_at: "2031-03-04T09:00:05Z",
  created_at: "2031-03-04T08:55:00Z",
};

const BEHAVIOR = {
  users: [
    {
      user_id: "u-alice",
      email: "alice@example.com",
      mode: "verification",
      last_trained_at: "2031-03-04T09:00:05Z",
      keystroke: { version: 1, samples: 22, needed: 20, eer: 0.083 },
      mouse: { version: 2, samples: 240, needed: 200, eer: null },
    },
  ],
};

const ACCOUNT = {
  id: "3f0e6a52-8d0c-4c1e-9d7b-0a4c2f1e5b6d",
  email: "alice@example.com",
  display_name: "Alice",
  role: "user",
  totp_enabled: true,
  frozen: false,
  codes_locked: true,
  failed_codes: 10,
  failed_logins: 0,
  locked_until: null,
  active_sessions: 1,
};

function adminSocket(sockets: MockSocket[]): MockSocket {
  const socket = sockets.find((s) => s.namespace === "/admin");
  if (!socket) throw new Error("no /admin socket");
  return socket;
}

describe("the security dashboard", () => {
  beforeEach(() => {
    signedIn(ADMIN);
    window.history.replaceState(null, "", "/admin");
    fakeApi({
      "GET /api/auth/me": { status: 200, body: ADMIN },
      "GET /api/admin/behavior": { status: 200, body: BEHAVIOR },
      "GET /api/admin/users": { status: 200, body: { users: [], total: 0 } },
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("shows the live sessions of the /admin feed, updating without reload", async () => {
    const { factory, sockets } = mockSocketFactory();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    expect(await socket.handshake()).toEqual({ token: "tok-123" });
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW]));
    });
    const row = screen.getByTestId("session-row");
    expect(row).toHaveTextContent("alice@example.com");
    expect(within(row).getByTestId("session-trust")).toHaveTextContent("83");
    expect(within(row).getByTestId("session-eps")).toHaveTextContent("12.3");
    expect(row).toHaveTextContent("2 min ago");
    expect(within(row).getByTestId("sparkline")).toHaveAttribute("data-points", "3");
    // keystroke v1 comes from the REST model status: trained after the session connected
    await waitFor(() => expect(row).toHaveTextContent("keys v1"));
    expect(row).toHaveTextContent("mouse v2");

    act(() => socket.serverSends("sessions_delta", { changed: [{ ...ROW, state: "challenged", trust: 31, level: "low" }], total: 1, counts: COUNTS, at: AT + 1 }));
    expect(within(screen.getByTestId("session-row")).getByTestId("session-state")).toHaveTextContent("challenged");
    act(() => socket.serverSends("sessions", page([], { at: AT + 2 })));
    expect(screen.queryByTestId("session-row")).toBeNull();
  });

  it("pages the live sessions on the server, and shows the counts", async () => {
    const { factory, sockets } = mockSocketFactory();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    socket.ackReply = { ok: true };
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW], { total: 60, counts: { ...COUNTS, connected: 60, active: 58, challenged: 2, unmonitored: 3 } }));
    });
    expect(screen.getByTestId("count-challenged")).toHaveTextContent("2 challenged");
    expect(screen.getByTestId("count-unmonitored")).toHaveTextContent("3 unmonitored");
    const watched = () => socket.emits("watch").at(-1)?.args[0];

    await userEvent.click(screen.getByRole("button", { name: /next page/i }));
    expect(watched()).toMatchObject({ page: 1, page_size: 25, sort: "trust", descending: false });
  });

  it("sends the sort and filters the administrator picks, from the first page", async () => {
    const { factory, sockets } = mockSocketFactory();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    socket.ackReply = { ok: true };
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW]));
    });
    const watched = () => socket.emits("watch").at(-1)?.args[0];

    await userEvent.click(screen.getByRole("combobox", { name: "State" }));
    await userEvent.click(screen.getByRole("option", { name: "challenged" }));
    expect(watched()).toMatchObject({ page: 0, state: "challenged" });

    await userEvent.click(screen.getByRole("combobox", { name: "Sort" }));
    await userEvent.click(screen.getByRole("option", { name: "Newest first" }));
    expect(watched()).toMatchObject({ sort: "connected_since", descending: true, state: "challenged" });

    await userEvent.type(screen.getByLabelText("User (email or id)"), "Alice@Example.com{Enter}");
    expect(watched()).toMatchObject({ user: "Alice@Example.com", page: 0 });
  });

  it("marks sessions without recent evidence as unverified, and says which rule fired", async () => {
    const { factory, sockets } = mockSocketFactory();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    const stale = { ...ROW, trust: 75, verified: false, evidence_at: AT - 200 };
    const fired: AdminSessionRow = { ...ROW, session_id: "7c0e5a1b-0000-4000-8000-000000000001", email: "carol@example.com", state: "challenged", trust: 31, level: "low", last_evidence: -2.31, rule: "challenge_below", explanation: { modality: "keystroke", reasons: [{ feature: "hold.R_top.tmean", llr: -4.2, change: 0.38, text: "hold times of right-hand top-row keys 38 % longer than usual" }] } };
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([stale, fired]));
    });
    const [alice, carol] = screen.getAllByTestId("session-row");
    expect(alice).toHaveAttribute("data-verified", "false");
    expect(within(alice).getByTestId("session-unverified")).toHaveTextContent("unverified");
    expect(within(alice).getByTestId("session-evidence")).toHaveTextContent("last evidence 3 min ago");
    expect(within(alice).queryByTestId("session-rule")).toBeNull();

    expect(carol).toHaveAttribute("data-verified", "true");
    expect(within(carol).queryByTestId("session-unverified")).toBeNull();
    expect(within(carol).getByTestId("session-rule")).toHaveTextContent("challenge rule fired");
    expect(within(carol).getByTestId("session-evidence")).toHaveTextContent("last window -2.31 nats");
    expect(within(carol).getByTestId("session-explanation")).toHaveTextContent("hold times of right-hand top-row keys 38 % longer than usual (-4.2)");
    expect(within(alice).queryByTestId("session-explanation")).toBeNull();

    // The re-challenge line is the server's, as the admin's own channel was told it.
    const own = sockets.find((s) => s.namespace === "/")!;
    act(() =>
      own.serverSends("status", {
        session_id: "s-admin",
        state: "active",
        trust: { score: 100, level: "high", windows: 0, verified: true, evidence_age_s: 0 },
        history: [],
        model_versions: { keystroke: null, mouse: null },
        thresholds: { challenge_below: 45, high_at: 70, low_at: 25, evidence_max_age_s: 120 },
      }),
    );
    expect(within(alice).getByTestId("sparkline-threshold")).toHaveAttribute("data-at", "45");
  });

  it("lists live sessions that hold no socket on their own, and revokes one after a confirmation", async () => {
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW], { unmonitored: [UNMONITORED] }));
    });
    const table = screen.getByTestId("unmonitored-table");
    expect(screen.getByText("Unmonitored (no socket: no behavioral evidence)")).toBeInTheDocument();
    const row = within(table).getByTestId("unmonitored-row");
    expect(row).toHaveAttribute("data-email", "bob@example.com");
    expect(row).toHaveTextContent("9d1f3e2a");
    expect(within(screen.getByTestId("sessions-table")).queryByText("bob@example.com")).toBeNull();

    await user.click(within(row).getByTestId("unmonitored-revoke"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Revoke" }));
    expect(socket.emits("revoke")).toEqual([{ event: "revoke", args: [{ session_id: UNMONITORED.session_id }] }]);

    act(() => socket.serverSends("sessions", page([ROW], { at: AT + 1 })));
    expect(within(screen.getByTestId("unmonitored-table")).queryByTestId("unmonitored-row")).toBeNull();
    expect(screen.getByTestId("unmonitored-table")).toHaveTextContent("Every live session is watched.");
  });

  it("loads with the session's token from the first request after a reload: no token error", async () => {
    // The session comes back from sessionStorage (beforeEach), as after a reload.
    const { calls } = fakeApi({
      "GET /api/auth/me": withToken({ status: 200, body: ADMIN }),
      "GET /api/admin/behavior": withToken({ status: 200, body: BEHAVIOR }),
      "GET /api/admin/users": withToken({ status: 200, body: { users: [], total: 0 } }),
    });
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("model-row")).toHaveTextContent("verification");
    expect(screen.queryByText("A bearer token is required.")).toBeNull();
    const admin = calls.filter((c) => c.path.startsWith("/api/"));
    expect(admin.length).toBeGreaterThan(0);
    expect(admin.filter((c) => c.headers.Authorization !== "Bearer tok-123").map((c) => c.path)).toEqual([]);
  });

  it("shows each user's model status and measured error rate", async () => {
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    const row = await screen.findByTestId("model-row");
    expect(row).toHaveTextContent("verification");
    expect(row).toHaveTextContent("v1 · 22/20 windows");
    expect(row).toHaveTextContent("8.3 %");
  });

  it.each([
    ["action-revoke", "Revoke", "revoke", "revoked"],
    ["action-challenge", "Re-challenge", "challenge", "must confirm"],
  ])("asks for confirmation before %s, then sends the command with an acknowledgement", async (button, confirmLabel, event, toast) => {
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW]));
    });
    await user.click(screen.getByTestId(button));
    const dialog = screen.getByTestId("confirm-dialog");
    expect(socket.emits(event)).toHaveLength(0);
    await user.click(within(dialog).getByRole("button", { name: confirmLabel }));
    expect(socket.emits(event)).toEqual([{ event, args: [{ session_id: ROW.session_id }] }]);
    expect(await screen.findByTestId("admin-toast")).toHaveTextContent(toast);
  });

  it("does nothing when the confirmation is cancelled", async () => {
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW]));
    });
    await user.click(screen.getByTestId("action-revoke"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Cancel" }));
    expect(socket.emits("revoke")).toHaveLength(0);
  });

  it("reports a refused command", async () => {
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} />);
    const socket = adminSocket(sockets);
    socket.ackReply = { ok: false, error: "not_found" };
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("sessions", page([ROW]));
    });
    await user.click(screen.getByTestId("action-revoke"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Revoke" }));
    expect(await screen.findByTestId("admin-toast")).toHaveTextContent("Could not revoke");
  });

  it("signs the admin out when the feed refuses a revoked session", async () => {
    const { factory, sockets } = mockSocketFactory();
    await renderApp(<App socketFactory={factory} />);
    act(() => adminSocket(sockets).serverSends("connect_error", refused("session_revoked", "This session was revoked.")));
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("revoked");
  });
});

describe("the accounts on the security dashboard", () => {
  beforeEach(() => {
    signedIn(ADMIN);
    window.history.replaceState(null, "", "/admin");
  });
  afterEach(() => vi.unstubAllGlobals());

  const routes = {
    "GET /api/auth/me": { status: 200, body: ADMIN },
    "GET /api/admin/behavior": { status: 200, body: BEHAVIOR },
    "GET /api/admin/users": { status: 200, body: { users: [ACCOUNT], total: 1 } },
  };

  it("shows locked accounts, and unlocks one after a confirmation", async () => {
    const { calls } = fakeApi({
      ...routes,
      "POST /api/admin/users/3f0e6a52-8d0c-4c1e-9d7b-0a4c2f1e5b6d/unlock": { status: 200, body: { ...ACCOUNT, codes_locked: false, failed_codes: 0 } },
    });
    const user = userEvent.setup();
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    const row = await screen.findByTestId("user-row");
    expect(row).toHaveTextContent("Codes locked");
    expect(row).toHaveTextContent("10 wrong codes");
    await user.click(within(row).getByTestId("user-unlock"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Unlock" }));
    expect(await screen.findByTestId("users-outcome")).toHaveTextContent("alice@example.com is unlocked.");
    expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual([`/api/admin/users/${ACCOUNT.id}/unlock`]);
  });

  it("resets a second factor with a reason, after the administrator's own fresh code", async () => {
    const { calls } = fakeApi({
      ...routes,
      "POST /api/admin/users/3f0e6a52-8d0c-4c1e-9d7b-0a4c2f1e5b6d/reset-factors": inTurn(stepUpRequired(), {
        status: 200,
        body: { ...ACCOUNT, totp_enabled: false },
      }),
      "POST /api/auth/step-up/verify": { status: 200, body: { id: "s1", state: "active" } },
    });
    const user = userEvent.setup();
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(within(await screen.findByTestId("user-row")).getByTestId("user-reset"));
    const confirm = screen.getByTestId("confirm-dialog");
    await user.type(within(confirm).getByLabelText(/reason/i), "lost phone, ticket 4711");
    await user.click(within(confirm).getByRole("button", { name: "Reset" }));
    await user.type(await screen.findByTestId("step-up-code"), "123456");
    await user.click(screen.getByTestId("step-up-submit"));

    expect(await screen.findByTestId("users-outcome")).toHaveTextContent("Second factor of alice@example.com was reset");
    const resets = calls.filter((c) => c.path.endsWith("/reset-factors"));
    expect(resets.map((c) => c.body)).toEqual([{ reason: "lost phone, ticket 4711" }, { reason: "lost phone, ticket 4711" }]);
  });
});

describe("formatDuration", () => {
  it("reads like a person would say it", () => {
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(12 * 60 + 5)).toBe("12 min");
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe("3 h 05 min");
  });
});
