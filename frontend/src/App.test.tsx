import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { DpopKey, KEY_SLOT } from "./auth/dpop";
import { defaultDpopKey } from "./auth/DpopContext";
import { accessTokenHash, verifiedProof } from "./test/dpop";
import { ALICE, ADMIN, fakeApi, signedIn, tokenResponse } from "./test/fakeApi";
import { firstSocket, mockSocketFactory, type MockSocket } from "./test/mockSocket";

const CHALLENGE = {
  challenge_id: "handle-0123456789abcdef",
  channel: "email",
  purpose: "login",
  destination: "a***e@example.com",
  expires_at: new Date(Date.now() + 300_000).toISOString(),
  resends_left: 3,
};

function inputEvents(socket: MockSocket) {
  return socket.emits("input").flatMap((e) => (e.args[0] as { events: { key?: string }[] }).events);
}

describe("the person's app", () => {
  beforeEach(() => window.history.replaceState(null, "", "/"));
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("signs in with password then code, keeping the token in sessionStorage only, bound to a key of this tab", async () => {
    const { calls } = fakeApi({
      "POST /api/auth/login": { status: 202, body: CHALLENGE },
      "POST /api/auth/otp/verify": { status: 200, body: tokenResponse() },
    });
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    render(<App socketFactory={factory} />);

    const email = await screen.findByLabelText(/email/i);
    expect(email.closest("[data-bbauth-ignore]")).not.toBeNull();
    await user.type(email, "alice@example.com");
    await user.type(screen.getByLabelText(/password/i), "correct horse");
    await user.click(screen.getByRole("button", { name: "Continue" }));

    expect(await screen.findByTestId("otp-destination")).toHaveTextContent("a***e@example.com");
    const code = screen.getByTestId("otp-code");
    expect(code).toHaveAttribute("data-bbauth-ignore");
    await user.type(code, "123456");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByTestId("work-text")).toBeInTheDocument();
    expect(window.location.pathname).toBe("/work");
    expect(JSON.parse(sessionStorage.getItem("bbauth.session")!).token).toBe("tok-123");
    expect(localStorage.length).toBe(0); // no device token was handed out
    const verify = calls.find((c) => c.path === "/api/auth/otp/verify")!;
    expect(verify.body).toEqual({ challenge_id: CHALLENGE.challenge_id, code: "123456" });
    expect(calls.find((c) => c.path === "/api/auth/login")?.headers.DPoP).toBeUndefined();

    // The code went with a proof of a new key (kept in IndexedDB for this tab); the socket
    // proves the same key for the token it was given.
    const bound = await verifiedProof(verify.headers.DPoP);
    expect(bound.claims).toMatchObject({ htm: "POST", htu: `${window.location.origin}/api/auth/otp/verify` });
    expect(sessionStorage.getItem(KEY_SLOT)).toBeTruthy();
    const handshake = await (await firstSocket(sockets)).handshake();
    expect(handshake.token).toBe("tok-123");
    const connect = await verifiedProof(handshake.dpop as string);
    expect(connect.claims).toMatchObject({ htm: "GET", htu: `${window.location.origin}/socket.io/`, ath: accessTokenHash("tok-123") });
    expect(connect.thumbprint).toBe(bound.thumbprint);
  });

  it("offers a new code on the second step", async () => {
    const { calls } = fakeApi({
      "POST /api/auth/login": { status: 202, body: CHALLENGE },
      "POST /api/auth/otp/resend": { status: 200, body: { ...CHALLENGE, resends_left: 2 } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.type(await screen.findByLabelText(/email/i), "alice@example.com");
    await user.type(screen.getByLabelText(/password/i), "pw");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    await user.click(await screen.findByTestId("otp-resend"));
    expect(await screen.findByText(/A new code is on its way/)).toBeInTheDocument();
    expect(screen.getByTestId("otp-resend")).toHaveTextContent("2 left");
    expect(calls.filter((c) => c.path === "/api/auth/otp/resend")).toHaveLength(1);
  });

  it("asks for the authenticator app's code when the account uses one", async () => {
    fakeApi({ "POST /api/auth/login": { status: 202, body: { ...CHALLENGE, channel: "totp", destination: "authenticator app" } } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.type(await screen.findByLabelText(/email/i), "alice@example.com");
    await user.type(screen.getByLabelText(/password/i), "pw");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    expect(await screen.findByTestId("otp-destination")).toHaveTextContent("authenticator app");
    expect(screen.queryByTestId("otp-resend")).toBeNull();
  });

  it("says why a password was refused", async () => {
    fakeApi({ "POST /api/auth/login": { status: 401, body: { code: "invalid_credentials", detail: "Wrong email or password." } } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.type(await screen.findByLabelText(/email/i), "alice@example.com");
    await user.type(screen.getByLabelText(/password/i), "nope");
    await user.click(screen.getByRole("button", { name: "Continue" }));
    expect(await screen.findByTestId("login-error")).toHaveTextContent("Wrong email or password.");
    expect(screen.getByTestId("login-error")).toHaveAttribute("role", "alert");
    // Focus is back on the password, selected for retyping, not lost to the page.
    await waitFor(() => expect(screen.getByLabelText(/password/i)).toHaveFocus());
  });

  it("shows live trust and enrollment, and batches typing into one input message", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    const { factory, sockets } = mockSocketFactory();
    vi.useFakeTimers({ shouldAdvanceTime: true });
    render(<App socketFactory={factory} />);
    const socket = await firstSocket(sockets);
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("status", {
        session_id: "s1",
        state: "active",
        trust: { score: 100, level: "high", windows: 0 },
        history: [],
        model_versions: { keystroke: null, mouse: null },
      });
      socket.serverSends("enrollment", {
        mode: "enrollment",
        progress: {
          keystroke: { samples: 2, needed: 5, ratio: 0.4, trained: false },
          mouse: { samples: 0, needed: 30, ratio: 0, trained: false },
        },
      });
    });
    // Nothing is checked yet: no score, and what it takes to learn.
    expect(screen.getByTestId("trust-score")).toHaveTextContent("Learning — not checked yet");
    expect(screen.getByTestId("enroll-keystroke")).toHaveTextContent("2 / 5 windows");
    expect(screen.getByTestId("enrollment-howto")).toHaveTextContent("about 150 keystrokes, ~1 minute");

    const notes = screen.getByTestId("work-text");
    fireEvent.keyDown(notes, { code: "KeyH" });
    fireEvent.keyUp(notes, { code: "KeyH" });
    fireEvent.keyDown(notes, { code: "KeyI" });
    fireEvent.keyUp(notes, { code: "KeyI" });
    act(() => vi.advanceTimersByTime(260));
    expect(socket.emits("input")).toHaveLength(1);
    // Key classes only (hand, row, finger): never the character nor which key it was.
    expect(inputEvents(socket).map((e) => e.key)).toEqual(["R_home.2", "R_home.2", "R_top.3", "R_top.3"]);
    expect(JSON.stringify(socket.emits("input"))).not.toMatch(/KeyH|KeyI|"code"/);

    act(() => socket.serverSends("trust", { score: 41, level: "low", windows: 1, modality: "keystroke", window_size: 30 }));
    expect(screen.getByTestId("trust-score")).toHaveTextContent("41");
    expect(screen.getByTestId("trust-level")).toHaveAttribute("data-level", "low");
    // Said in words, politely: checking has started, and at which level.
    expect(screen.getByTestId("trust-announcer")).toHaveTextContent("Learning complete: bbauth is now checking your behaviour. Trust 41 of 100, low.");
    expect(screen.getByTestId("trust-announcer")).toHaveAttribute("aria-live", "polite");
    expect(screen.getByRole("img", { name: /^Trust 41 of 100, low/ })).toHaveAttribute("data-testid", "trust-badge");
  });

  it("blocks the page with a re-challenge that keeps the text and never captures the code", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/auth/reauth": { status: 200, body: { ...CHALLENGE, challenge_id: null, purpose: "reauth" } },
      "POST /api/auth/reauth/verify": ({ code }: { code?: string } = {}) =>
        code === "654321" ? { status: 200, body: { id: "s1", state: "active" } } : { status: 401, body: { code: "invalid_code" } },
    } as never);
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    render(<App socketFactory={factory} />);
    const socket = await firstSocket(sockets);
    act(() => socket.serverSends("connect"));

    const notes = screen.getByTestId("work-text");
    await user.type(notes, "draft text");
    await act(async () => socket.serverSends("reauth_required", { session_id: "s1" }));
    await waitFor(() => expect(screen.getByTestId("reauth-destination")).toHaveTextContent("a***e@example.com"));
    const sentBefore = socket.emits("input").length;

    // The dialog says why it is there and where the code went.
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveAccessibleDescription(/no longer matches your usual typing.*We sent a 6-digit code to a\*\*\*e@example.com/);

    const code = screen.getByTestId("reauth-code");
    await user.type(code, "111111");
    await user.click(screen.getByTestId("reauth-submit"));
    expect(await screen.findByText("That code is wrong or has expired.")).toBeInTheDocument();
    // The error is announced, and focus is back on the field to type the right code.
    expect(within(dialog).getByRole("alert")).toHaveTextContent("That code is wrong or has expired.");
    await waitFor(() => expect(code).toHaveFocus());
    await user.type(code, "654321");
    await user.click(screen.getByTestId("reauth-submit"));
    await waitFor(() => expect(screen.queryByTestId("reauth-dialog")).toBeNull());
    await waitFor(() => expect(screen.getByTestId("work-text")).toHaveFocus()); // back where it was

    expect(screen.getByTestId("work-text")).toHaveValue("draft text");
    expect(calls.filter((c) => c.path === "/api/auth/reauth/verify").map((c) => c.body)).toEqual([
      { code: "111111" },
      { code: "654321" },
    ]);
    await act(() => new Promise((r) => setTimeout(r, 300)));
    const later = socket.emits("input").slice(sentBefore);
    const keys = later.flatMap((e) => (e.args[0] as { events: { key?: string }[] }).events.map((x) => x.key));
    expect(keys.filter((k) => k?.includes("_num."))).toEqual([]); // no digit key's class either
  });

  it("offers \"that was me\" after a passed re-challenge, and records it", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/auth/reauth": { status: 200, body: { ...CHALLENGE, challenge_id: null, purpose: "reauth" } },
      "POST /api/auth/reauth/verify": { status: 200, body: { id: "s1", state: "active" } },
      "POST /api/sessions/current/that-was-me": {
        status: 200,
        body: { session_id: "s1", label: "genuine", by_role: "owner", note: "", created_at: "2031-03-04T09:00:05Z" },
      },
    } as never);
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    render(<App socketFactory={factory} />);
    await screen.findByTestId("work-text");
    await waitFor(() => expect(sockets).toHaveLength(1));
    act(() => sockets[0].serverSends("connect"));
    expect(screen.queryByTestId("that-was-me")).toBeNull();

    await act(async () => sockets[0].serverSends("reauth_required", { session_id: "s1" }));
    await user.type(await screen.findByTestId("reauth-code"), "654321");
    await user.click(screen.getByTestId("reauth-submit"));
    await user.click(await screen.findByTestId("that-was-me-confirm"));

    expect(await screen.findByText("Thanks: recorded as you.")).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/sessions/current/that-was-me")).toHaveLength(1);
  });

  it("tells the person when the security team asked for the re-challenge", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/auth/reauth": { status: 200, body: { ...CHALLENGE, challenge_id: null, purpose: "reauth" } },
    });
    const { factory, sockets } = mockSocketFactory();
    render(<App socketFactory={factory} />);
    const socket = await firstSocket(sockets);
    act(() => socket.serverSends("connect"));
    await act(async () => socket.serverSends("reauth_required", { session_id: "s1", cause: "admin", reason: "asked" }));
    expect(await screen.findByTestId("reauth-why")).toHaveTextContent("Your security team asked you to confirm it's you.");
  });

  it("opens the re-challenge when a REST call answers reauth_required", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    fakeApi({
      "GET /api/auth/me": { status: 401, body: { code: "reauth_required", detail: "Confirm" } },
      "GET /api/auth/reauth": { status: 200, body: { ...CHALLENGE, channel: "totp", destination: "authenticator app" } },
    });
    render(<App socketFactory={mockSocketFactory().factory} />);
    await waitFor(() => expect(screen.getByTestId("reauth-destination")).toHaveTextContent("authenticator app"));
  });

  it("signs out with a message when the session is revoked", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    const { factory, sockets } = mockSocketFactory();
    render(<App socketFactory={factory} />);
    const socket = await firstSocket(sockets);
    act(() => {
      socket.serverSends("connect");
      socket.serverSends("revoked", { session_id: "s1" });
    });
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("revoked");
    expect(sessionStorage.getItem("bbauth.session")).toBeNull();
    expect(window.location.pathname).toBe("/login");
  });

  it("keeps using the tab's key after a reload", async () => {
    signedIn();
    await defaultDpopKey.bind("POST", "/api/auth/otp/verify");
    const thumbprint = await defaultDpopKey.thumbprint();
    window.history.replaceState(null, "", "/work");
    const { calls } = fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    // A new page: nothing in memory, the same sessionStorage and IndexedDB.
    render(<App socketFactory={mockSocketFactory().factory} dpop={new DpopKey()} />);
    await waitFor(() => expect(calls.find((c) => c.path === "/api/auth/me")).toBeDefined());
    const me = calls.find((c) => c.path === "/api/auth/me")!;
    expect((await verifiedProof(me.headers.DPoP)).thumbprint).toBe(thumbprint);
  });

  it("signs out when this browser no longer holds the session's key", async () => {
    signedIn(); // a token, but no key (say, the browser's site data was cleared)
    window.history.replaceState(null, "", "/work");
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 401, body: { code: "invalid_dpop_proof", detail: "This request needs a DPoP proof of the session's key." } },
    });
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("This browser no longer holds the key of your session.");
    expect(calls.find((c) => c.path === "/api/auth/me")?.headers.DPoP).toBeUndefined();
  });

  it("signs out with a message when a REST call says the session is over", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    fakeApi({ "GET /api/auth/me": { status: 401, body: { code: "session_expired", detail: "This session has expired; sign in again." } } });
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("expired");
  });

  it("sends a signed-out visitor to the login page", async () => {
    window.history.replaceState(null, "", "/admin");
    fakeApi({});
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("login-submit")).toBeInTheDocument();
    expect(window.location.pathname + window.location.search).toBe("/login?next=%2Fadmin");
  });

  it("logs out on request, and forgets the session's key", async () => {
    signedIn();
    await defaultDpopKey.bind("POST", "/api/auth/otp/verify");
    window.history.replaceState(null, "", "/work");
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "POST /api/auth/logout": { status: 200, body: { message: "signed out" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(screen.getByTestId("logout"));
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("signed out");
    const logout = calls.find((c) => c.path === "/api/auth/logout")!;
    expect(logout.headers.Authorization).toBe("DPoP tok-123");
    expect((await verifiedProof(logout.headers.DPoP)).claims.ath).toBe(accessTokenHash("tok-123"));
    expect(sessionStorage.getItem("bbauth.session")).toBeNull();
    expect(sessionStorage.getItem(KEY_SLOT)).toBeNull();
    expect(await defaultDpopKey.thumbprint()).toBeNull();
  });

  it("keeps the security dashboard from non-admins", async () => {
    signedIn();
    window.history.replaceState(null, "", "/admin");
    fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByText(/for administrators/)).toBeInTheDocument();
    expect(ADMIN.role).toBe("admin");
  });
});
