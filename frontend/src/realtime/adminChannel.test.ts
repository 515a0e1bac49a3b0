import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SessionsMessage } from "../contract/socket";
import { AT, COUNTS, page, QUERY, SESSION_ROW } from "../test/adminFeed";
import { mockSocketFactory, refused } from "../test/mockSocket";
import { AdminChannel } from "./adminChannel";

function setup(extra: Partial<ConstructorParameters<typeof AdminChannel>[0]> = {}) {
  const { factory, sockets } = mockSocketFactory();
  const onSessionLost = vi.fn();
  const onReauthRequired = vi.fn();
  const channel = new AdminChannel({ token: "tok", factory, onSessionLost, onReauthRequired, ...extra });
  channel.open();
  return { channel, socket: sockets[0], sockets, onSessionLost, onReauthRequired };
}

const ROW = SESSION_ROW;

describe("AdminChannel", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("connects to the /admin namespace with the token", async () => {
    const { socket } = setup();
    expect(socket.namespace).toBe("/admin");
    expect(await socket.handshake()).toEqual({ token: "tok" });
  });

  it("publishes each sessions snapshot to its subscribers", () => {
    const { channel, socket } = setup();
    const listener = vi.fn();
    channel.subscribe(listener);
    socket.serverSends("connect");
    const message: SessionsMessage = page([ROW]);
    socket.serverSends("sessions", message);
    expect(channel.getSnapshot()).toEqual({
      connected: true,
      sessions: [ROW],
      unmonitored: [],
      query: QUERY,
      total: 1,
      counts: COUNTS,
      at: AT,
      error: null,
    });
    expect(listener).toHaveBeenCalled();
  });

  it("replaces only the rows a delta names, in place, and takes its counts", () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    const other = { ...ROW, session_id: "5c1b7a2e-0000-4000-8000-000000000002", email: "bob@example.com" };
    socket.serverSends("sessions", page([ROW, other]));
    const lower = { ...other, trust: 41.5 };
    const counts = { ...COUNTS, challenged: 1 };
    socket.serverSends("sessions_delta", { changed: [lower], total: 2, counts, at: AT + 1 });
    const snapshot = channel.getSnapshot();
    expect(snapshot.sessions).toEqual([ROW, lower]);
    expect(snapshot.counts).toEqual(counts);
    expect(snapshot.at).toBe(AT + 1);
  });

  it("asks for another page, and asks again for it after a reconnect", async () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    socket.ackReply = { ok: true };
    const wanted = { ...QUERY, page: 3, state: "challenged" as const };
    expect(await channel.watch(wanted)).toEqual({ ok: true });
    expect(socket.emits("watch")).toEqual([{ event: "watch", args: [wanted] }]);
    socket.serverSends("disconnect", "transport close");
    socket.serverSends("connect");
    expect(socket.emits("watch")).toHaveLength(2);
    expect(socket.emits("watch")[1].args).toEqual([wanted]);
  });

  it("sends a command and resolves with its acknowledgement", async () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    socket.ackReply = { ok: false, error: { type: "urn:bbauth:problem:conflict", title: "Conflict", status: 409, detail: "not active", code: "conflict" } };
    const answer = await channel.command("challenge", ROW.session_id);
    expect(socket.emits("challenge")).toEqual([{ event: "challenge", args: [{ session_id: ROW.session_id }] }]);
    expect(answer).toMatchObject({ ok: false, error: { code: "conflict" } });
  });

  it("answers a command locally, in the acknowledgements' shape, while disconnected", async () => {
    const { channel, socket } = setup();
    const answer = await channel.command("revoke", ROW.session_id);
    expect(answer).toMatchObject({ ok: false, error: { code: "not_connected" } });
    expect(socket.emits("revoke")).toHaveLength(0);
  });

  it("signs the administrator out when the feed refuses a dead session, and stops", () => {
    const { channel, socket, onSessionLost } = setup();
    socket.active = false;
    socket.serverSends("connect_error", refused("session_revoked", "This session was revoked."));
    expect(onSessionLost).toHaveBeenCalledWith("This session was revoked.");
    expect(socket.disconnectCalls).toBe(1);
    vi.advanceTimersByTime(120_000);
    expect(socket.connectCalls).toBe(0);
    expect(channel.getSnapshot().connected).toBe(false);
  });

  it("retries a refusal that may pass: soon, or after a minute when not an administrator", () => {
    const { channel, socket, onReauthRequired } = setup();
    socket.active = false;
    socket.serverSends("connect_error", refused("reauth_required", "Confirm it is you."));
    expect(onReauthRequired).toHaveBeenCalledOnce();
    expect(channel.getSnapshot().error).toBe("Confirm it is you.");
    vi.advanceTimersByTime(3000);
    expect(socket.connectCalls).toBe(1);

    socket.serverSends("connect_error", refused("forbidden", "Administrators only."));
    vi.advanceTimersByTime(59_000);
    expect(socket.connectCalls).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(socket.connectCalls).toBe(2);
  });

  it("reopens a socket the server closed", () => {
    const { socket } = setup();
    socket.serverSends("connect");
    socket.serverSends("disconnect", "io server disconnect");
    vi.advanceTimersByTime(2000);
    expect(socket.connectCalls).toBe(1);
  });

  it("hears its own session challenged or revoked before the server closes the socket", () => {
    const challenged = setup();
    challenged.socket.serverSends("reauth_required", { session_id: "s-admin" });
    expect(challenged.onReauthRequired).toHaveBeenCalledOnce();

    const revoked = setup();
    revoked.socket.serverSends("revoked", { session_id: "s-admin", reason: "session_expired" });
    expect(revoked.onSessionLost).toHaveBeenCalledWith("Your session has ended; sign in again.");
    expect(revoked.socket.disconnectCalls).toBe(1);
  });

  it("closes for good: no retry once closed", () => {
    const { channel, socket } = setup();
    socket.serverSends("connect");
    socket.serverSends("disconnect", "io server disconnect");
    channel.close();
    vi.advanceTimersByTime(10_000);
    expect(socket.connectCalls).toBe(0);
    expect(socket.handlers.size).toBe(0);
  });
});
