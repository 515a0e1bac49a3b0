import type { Socket } from "socket.io-client";
import {
  defaultSocketFactory,
  openSocket,
  refusal,
  SESSION_LOST_CODES,
  sessionLostBy,
  sessionLostMessage,
  SnapshotStore,
  type AdminSessionRow,
  type SocketFactory,
  type UnmonitoredSession,
  wire,
} from "@bbauth/capture";
import { proofOf, type DpopProofs } from "../auth/dpop";
import type { AdminClientEvents, AdminServerEvents, CommandAck, SessionCounts, SessionQuery } from "../contract/socket";

export interface AdminSnapshot {
  connected: boolean;
  /** The page watched: its rows, in the server's order. */
  sessions: AdminSessionRow[];
  /** Live sessions with no socket: no behaviour is seen of them. */
  unmonitored: UnmonitoredSession[];
  /** The query watched: the last one asked for, then the server's echo with its page. */
  query: SessionQuery;
  /** Sessions matching the query, on every page. */
  total: number;
  /** Live sessions by state and liveness flag, on every worker. */
  counts: SessionCounts | null;
  /** Server time of the last message, epoch seconds. */
  at: number | null;
  error: string | null;
}

export const DEFAULT_QUERY: SessionQuery = { page: 0, page_size: 25, sort: "trust", descending: false };

export const INITIAL_ADMIN_SNAPSHOT: AdminSnapshot = {
  connected: false,
  sessions: [],
  unmonitored: [],
  query: DEFAULT_QUERY,
  total: 0,
  counts: null,
  at: null,
  error: null,
};

/** A command about one session (each is answered with a `CommandAck`). */
export type AdminCommand = "challenge" | "revoke";

export interface AdminChannelOptions {
  token: string;
  factory?: SocketFactory;
  /** Proofs of the key the token is bound to, one per connect. */
  dpop?: DpopProofs | null;
  /** The administrator's own session is over: sign them out with this message. */
  onSessionLost?: (message: string) => void;
  /** The administrator's own session was challenged. */
  onReauthRequired?: () => void;
  /** Delay before re-opening a socket the server closed, ms. */
  reopenMs?: number;
  /** Delay before trying again after a refusal that may pass, ms (`forbidden`: `forbiddenRetryMs`). */
  retryMs?: number;
  forbiddenRetryMs?: number;
  /** How long a command waits for its acknowledgement, ms. */
  commandTimeoutMs?: number;
}

const UNREACHABLE = "The live feed is unreachable; retrying…";

/**
 * The security team's live channel (namespace /admin): the "sessions" feed and the challenge
 * and revoke commands. Like `TrustChannel`, a plain class read through `useSyncExternalStore`,
 * its socket opened by an injected factory.
 */
export class AdminChannel extends SnapshotStore<AdminSnapshot> {
  private socket: Socket | null = null;
  /** The page asked for: sent again at every (re)connect, where the server starts from its default. */
  private wanted: SessionQuery = DEFAULT_QUERY;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly options: Required<
    Pick<AdminChannelOptions, "reopenMs" | "retryMs" | "forbiddenRetryMs" | "commandTimeoutMs">
  > &
    AdminChannelOptions;

  constructor(options: AdminChannelOptions) {
    super(INITIAL_ADMIN_SNAPSHOT);
    this.options = { reopenMs: 2000, retryMs: 3000, forbiddenRetryMs: 60_000, commandTimeoutMs: 5000, ...options };
  }

  // --- lifecycle -----------------------------------------------------------------------------

  open(): void {
    if (this.socket || this.closed) return;
    const { token, factory = defaultSocketFactory, dpop = null } = this.options;
    this.socket = wire(openSocket("/admin", token, factory, dpop && proofOf(dpop)), {
      connect: this.onConnect,
      disconnect: this.onDisconnect,
      connect_error: this.onConnectError,
      sessions: this.onSessions,
      sessions_delta: this.onSessionsDelta,
      reauth_required: this.onReauthRequired,
      revoked: this.onRevoked,
    });
  }

  close(): void {
    this.closed = true;
    this.clearRetry();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.removeAllListeners?.();
      socket.disconnect();
    }
    this.update({ connected: false });
  }

  /** Send a command about a session; resolves with its acknowledgement, or a local failure
   *  in the same shape when it never reached the server. */
  command = async (event: AdminCommand, sessionId: string): Promise<CommandAck> => {
    const socket = this.socket;
    if (!socket?.connected) return localFailure("not_connected", "the live feed is not connected");
    const payload: AdminClientEvents[AdminCommand] = { session_id: sessionId };
    try {
      return (await socket.timeout(this.options.commandTimeoutMs).emitWithAck(event, payload)) as CommandAck;
    } catch {
      return localFailure("timeout", "no answer from the server");
    }
  };

  /** Watch another page (sort, filters); the server answers with the whole page. */
  watch = async (query: SessionQuery): Promise<CommandAck> => {
    // Shown at once (the controls build on it); the server's page follows.
    this.wanted = query;
    this.update({ query });
    const socket = this.socket;
    if (!socket?.connected) return localFailure("not_connected", "the live feed is not connected");
    const payload: AdminClientEvents["watch"] = query;
    try {
      return (await socket.timeout(this.options.commandTimeoutMs).emitWithAck("watch", payload)) as CommandAck;
    } catch {
      return localFailure("timeout", "no answer from the server");
    }
  };

  // --- socket events -----------------------------------------------------------------------

  private onConnect = () => {
    this.update({ connected: true, error: null });
    if (this.wanted !== DEFAULT_QUERY) void this.watch(this.wanted);
  };

  private onDisconnect = (reason: string) => {
    if (this.closed) return;
    this.update({ connected: false });
    // The server closed us: socket.io does not retry that on its own, and retrying is how we
    // learn why (a dead session is refused with its reason).
    if (reason === "io server disconnect") this.retry(this.options.reopenMs);
  };

  private onConnectError = (err: unknown) => {
    if (this.closed) return;
    const lost = sessionLostBy(err);
    if (lost !== null) return this.end(lost);
    const why = refusal(err);
    if (why?.code === "reauth_required") this.options.onReauthRequired?.();
    this.update({ connected: false, error: why?.message || UNREACHABLE });
    // A refusal by the server is final for socket.io (socket.active is false): retry ourselves.
    if (this.socket && !this.socket.active) {
      this.retry(why?.code === "forbidden" ? this.options.forbiddenRetryMs : this.options.retryMs);
    }
  };

  private onSessions = (msg: AdminServerEvents["sessions"]) => {
    this.update({
      connected: true,
      sessions: Array.isArray(msg?.sessions) ? msg.sessions : [],
      unmonitored: Array.isArray(msg?.unmonitored) ? msg.unmonitored : [],
      query: msg?.query ?? this.getSnapshot().query,
      total: msg?.total ?? 0,
      counts: msg?.counts ?? null,
      at: msg?.at ?? null,
      error: null,
    });
  };

  /** Only the rows that changed come, whole: they replace their old selves in place. */
  private onSessionsDelta = (msg: AdminServerEvents["sessions_delta"]) => {
    const current = this.getSnapshot();
    const changed = new Map((msg?.changed ?? []).map((row) => [row.session_id, row]));
    this.update({
      connected: true,
      sessions: current.sessions.map((row) => changed.get(row.session_id) ?? row),
      unmonitored: msg?.unmonitored ?? current.unmonitored,
      total: msg?.total ?? current.total,
      counts: msg?.counts ?? current.counts,
      at: msg?.at ?? current.at,
      error: null,
    });
  };

  /** The administrator's own session was challenged; the server closes the socket next. */
  private onReauthRequired = () => {
    this.options.onReauthRequired?.();
  };

  /** The administrator's own session ended; the server closes the socket next. */
  private onRevoked = (msg?: AdminServerEvents["revoked"]) => {
    const code = msg?.reason && SESSION_LOST_CODES.has(msg.reason) ? msg.reason : "session_revoked";
    this.end(sessionLostMessage(code, null));
  };

  /** The administrator's own session is over: sign them out with why, and stop. */
  private end(message: string): void {
    this.options.onSessionLost?.(message);
    this.close();
  }

  private retry(delay: number) {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.socket && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private clearRetry() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** A command that never reached the server, in the acknowledgements' shape. */
export function localFailure(code: string, detail: string): CommandAck {
  return { ok: false, error: { type: `urn:bbauth:problem:${code}`, title: detail, status: 0, detail, code } };
}
