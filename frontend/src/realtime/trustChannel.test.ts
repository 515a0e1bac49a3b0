import { PAUSE_NOTICE_GRACE_MS, SOCKET_OPTIONS, TrustChannel } from "@bbauth/capture";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { proofOf } from "../auth/dpop";
import { accessTokenHash, testDpopKey, verifiedProof } from "../test/dpop";
import { mockSocketFactory, refused } from "../test/mockSocket";

function setup(extra: Partial<ConstructorParameters<typeof TrustChannel>[0]> = {}) {
  const { factory, sockets } = mockSocketFactory();
  const onSessionLost = vi.fn();
  const onChallenged = vi.fn();
  const onRestored = vi.fn();
  const channel = new TrustChannel({ token: "tok", factory, onSessionLost, onChallenged, onRestored, ...extra });
  channel.open();
  return { channel, socket: sockets[0], sockets, onSessionLost, onChallenged, onRestored };
}

const trust = (score: number, level = "high") => ({ score, level, windows: 1, verified: true, evidence_age_s: 3 });
const THRESHOLDS = { challenge_below: 50, high_at: 70, low_at: 25, evidence_max_age_s: 120 };
const PROGRESS = {
  keystroke: { samples: 2, needed: 5, ratio: 0.4, trained: false },
  mouse: { samples: 30, needed: 30, ratio: 1, trained: true },
};

describe("TrustChannel", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("connects to the person's namespace with the token and backoff reconnection", async () => {
    const { socket } = setup();
    expect(socket.namespace).toBe("/");
    expect(await socket.handshake()).toEqual({ token: "tok" });
    expect(socket.options).toMatchObject({
      reconnection: true,
      reconnectionDelay: SOCKET_OPTIONS.reconnectionDelay,
      reconnectionDelayMax: SOCKET_OPTIONS.reconnectionDelayMax,
      randomizationFactor: SOCKET_OPTIONS.randomizationFactor,
    });
    expect(SOCKET_OPTIONS.reconnectionDelayMax!).toBeGreaterThan(SOCKET_OPTIONS.reconnectionDelay!);
  });

  it("proves the session's key afresh at every connect and reconnect", async () => {
    const dpop = testDpopKey();
    await dpop.bind("POST", "/api/auth/otp/verify");
    const { socket } = setup({ dpop: proofOf(dpop) });

    const first = await socket.handshake();
    const reconnect = await socket.handshake();
    expect(first).toEqual({ token: "tok", dpop: expect.any(String) });
    const proofs = await Promise.all([first, reconnect].map((auth) => verifiedProof(auth.dpop as string)));
    for (const { claims, thumbprint } of proofs) {
      expect(claims).toMatchObject({ htm: "GET", htu: `${location.origin}/socket.io/`, ath: accessTokenHash("tok") });
      expect(thumbprint).toBe(await dpop.thumbprint());
    }
    expect(proofs[1].claims.jti).not.toBe(proofs[0].claims.jti);
  });

  it("connects with the token alone when the tab holds no key (the server says why it refuses)", async () => {
    const { socket } = setup({ dpop: proofOf(testDpopKey()) });
    expect(await socket.handshake()).toEqual({ token: "tok" });
  });

  it("signs the person out when the server refuses the handshake's proof", () => {
    const { socket, onSessionLost } = setup();
    socket.active = false;
    socket.serverSends("connect_error", refused("invalid_dpop_proof", "The DPoP proof is signed by another key."));
    expect(onSessionLost).toHaveBeenCalledWith("This browser no longer holds the key of your session. Sign in again.");
  });

  it("keeps the server's thresholds and when each trust view arrived (its evidence age is as of then)", () => {
    const { channel, socket } = setup();
    vi.setSystemTime(Date.parse("2031-03-04T09:00:00Z"));
    socket.serverSends("status", {
      session_id: "s1",
      state: "active",
      trust: { score: 75, level: "high", windows: 0, verified: false, evidence_age_s: 130 },
      history: [],
      model_versions: { keystroke: null, mouse: null },
      thresholds: THRESHOLDS,
    });
    expect(channel.getSnapshot()).toMatchObject({
      thresholds: THRESHOLDS,
      trust: { score: 75, verified: false, evidence_age_s: 130 },
      trustAt: Date.parse("2031-03-04T09:00:00Z"),
    });
    vi.advanceTimersByTime(5000);
    socket.serverSends("trust", { ...trust(88), modality: "keystroke", window_size: 30 });
    expect(channel.getSnapshot()).toMatchObject({
      trust: { verified: true, evidence_age_s: 3 },
      trustAt: Date.parse("2031-03-04T09:00:05Z"),
    });
  });

  it("says when learning waits for a verified session, until a code is entered", () => {
    const { channel, socket } = setup();
    socket.serverSends("enrollment", { mode: "enrollment", progress: PROGRESS, paused: "verify" });
    expect(channel.getSnapshot()).toMatchObject({ enrollmentPaused: true, enrollment: PROGRESS });

    channel.markSteppedUp();
    expect(channel.getSnapshot()).toMatchObject({ enrollmentPaused: false, codeAt: Date.now() });
    // The server re-reads the code every few seconds: a notice sent meanwhile predates it.
    socket.serverSends("enrollment", { mode: "enrollment", progress: PROGRESS, paused: "verify" });
    expect(channel.getSnapshot().enrollmentPaused).toBe(false);

    vi.advanceTimersByTime(PAUSE_NOTICE_GRACE_MS);
    socket.serverSends("enrollment", { mode: "enrollment", progress: PROGRESS });
    expect(channel.getSnapshot().enrollmentPaused).toBe(false);
    socket.serverSends("enrollment", { mode: "enrollment", progress: PROGRESS, paused: "verify" });
    expect(channel.getSnapshot().enrollmentPaused).toBe(true);
  });

  it("follows status, enrollment and trust messages", () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    socket.serverSends("status", {
      session_id: "s1",
      state: "active",
      trust: trust(100),
      history: [100, 95],
      model_versions: { keystroke: 3, mouse: null },
    });
    let snap = channel.getSnapshot();
    expect(snap).toMatchObject({ connection: "connected", sessionId: "s1", challenged: false, history: [100, 95] });
    expect(snap.trained).toEqual({ keystroke: true, mouse: false });

    socket.serverSends("enrollment", {
      mode: "enrollment",
      progress: {
        keystroke: { samples: 20, needed: 20, ratio: 1, trained: true },
        mouse: { samples: 50, needed: 200, ratio: 0.25, trained: false },
      },
    });
    expect(channel.getSnapshot().enrollment?.mouse.ratio).toBe(0.25);

    socket.serverSends("trust", { ...trust(62.5, "medium"), modality: "mouse", window_size: 10 });
    snap = channel.getSnapshot();
    expect(snap.trust).toMatchObject({ score: 62.5, level: "medium" });
    expect(snap.history).toEqual([100, 95, 62.5]);
    expect(snap.trained.mouse).toBe(true);
    expect(snap.lastModality).toBe("mouse");
  });

  it("keeps only the recent history", () => {
    const { channel, socket } = setup({ historyLength: 3 });
    for (const score of [90, 80, 70, 60]) socket.serverSends("trust", { ...trust(score), modality: "keystroke" });
    expect(channel.getSnapshot().history).toEqual([80, 70, 60]);
  });

  it("stops sending input while challenged and resumes after reauth_ok", () => {
    const { channel, socket, onChallenged, onRestored } = setup();
    socket.serverSends("connect");
    expect(channel.canSend()).toBe(true);
    socket.serverSends("reauth_required", { session_id: "s1" });
    expect(channel.getSnapshot().challenged).toBe(true);
    expect(channel.canSend()).toBe(false);
    expect(onChallenged).toHaveBeenCalledTimes(1);
    socket.serverSends("reauth_ok", { session_id: "s1", trust: trust(100) });
    expect(channel.canSend()).toBe(true);
    expect(onRestored).toHaveBeenCalledTimes(1);
  });

  it("keeps why the session was challenged until the challenge is answered", () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    socket.serverSends("reauth_required", { session_id: "s1", cause: "admin", reason: "asked by the security team" });
    expect(channel.getSnapshot()).toMatchObject({ challenged: true, challengeCause: "admin" });
    socket.serverSends("reauth_ok", { session_id: "s1", trust: trust(100) });
    expect(channel.getSnapshot()).toMatchObject({ challenged: false, challengeCause: null });
  });

  it("sends input batches as one 'input' message", () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    channel.sendInput([{ t: 1, type: "down", key: "L_home.5" }]);
    expect(socket.emits("input")).toEqual([{ event: "input", args: [{ events: [{ t: 1, type: "down", key: "L_home.5" }] }] }]);
  });

  it("signs the person out when the server says the session was revoked", () => {
    const { channel, socket, onSessionLost } = setup();
    socket.serverSends("connect");
    socket.serverSends("revoked", { session_id: "s1" });
    expect(onSessionLost).toHaveBeenCalledWith(expect.stringContaining("revoked"));
    expect(channel.getSnapshot().connection).toBe("closed");
    expect(socket.disconnectCalls).toBe(1);
  });

  it.each([
    [{ ended_by: "admin", reason: "revoked by administrator" }, "This session was revoked by the security team. Sign in again."],
    [{ ended_by: "owner", reason: "signed out everywhere" }, "This session was ended from another of your sessions. Sign in again."],
    [{ ended_by: "system", reason: "secured by the owner's link" }, "This session was revoked (secured by the owner's link). Sign in again."],
    [{ reason: "session_expired" }, "This session has expired. Sign in again."],
  ])("says who ended the session: %o", (why, message) => {
    const { socket, onSessionLost } = setup();
    socket.serverSends("connect");
    socket.serverSends("revoked", { session_id: "s1", ...why });
    expect(onSessionLost).toHaveBeenCalledWith(message);
  });

  it.each(["session_revoked", "session_expired", "unauthorized"])(
    "gives up and signs out when the connection is refused with %s",
    (code) => {
      const { socket, onSessionLost } = setup();
      socket.active = false;
      socket.serverSends("connect_error", refused(code, "This session was revoked; sign in again."));
      expect(onSessionLost).toHaveBeenCalledWith("This session was revoked; sign in again.");
      vi.advanceTimersByTime(60_000);
      expect(socket.connectCalls).toBe(0);
    },
  );

  it("leaves transient connection errors to socket.io's own backoff", () => {
    const { channel, socket, onSessionLost } = setup();
    socket.active = true; // socket.io will retry by itself
    socket.serverSends("connect_error", new Error("xhr poll error"));
    expect(channel.getSnapshot().connection).toBe("reconnecting");
    vi.advanceTimersByTime(60_000);
    expect(socket.connectCalls).toBe(0);
    expect(onSessionLost).not.toHaveBeenCalled();
    socket.managerSends("reconnect_attempt", 3);
    expect(channel.getSnapshot().reconnectAttempts).toBe(3);
    socket.serverSends("connect");
    expect(channel.getSnapshot()).toMatchObject({ connection: "connected", reconnectAttempts: 0 });
  });

  it("reconnects with growing delays after the server closed the socket", () => {
    const { channel, socket } = setup({ retryBaseMs: 1000 });
    socket.serverSends("connect");
    socket.active = false;
    socket.serverSends("disconnect", "io server disconnect");
    expect(channel.getSnapshot().connection).toBe("reconnecting");
    vi.advanceTimersByTime(999);
    expect(socket.connectCalls).toBe(0);
    vi.advanceTimersByTime(1);
    expect(socket.connectCalls).toBe(1);
    // Refused again for a reason that may pass: the next try waits twice as long.
    socket.serverSends("connect_error", refused("reauth_required"));
    vi.advanceTimersByTime(1999);
    expect(socket.connectCalls).toBe(1);
    vi.advanceTimersByTime(1);
    expect(socket.connectCalls).toBe(2);
  });

  it("does nothing after close", () => {
    const { channel, socket, onSessionLost } = setup();
    channel.close();
    socket.serverSends("revoked", {});
    expect(onSessionLost).not.toHaveBeenCalled();
    expect(channel.canSend()).toBe(false);
  });
});
