import type { Socket } from "socket.io-client";
import type { DpopProof, TokenSource } from "./dpop";
import type { WireEvent } from "./events";
import { openSocket, sessionLostBy, type SocketFactory, defaultSocketFactory, wire } from "./socket";
import { SnapshotStore } from "./store";
import type {
  ChallengeCause,
  EnrollmentMessage,
  ReauthRequiredMessage,
  RevokedMessage,
  ServerError,
  StatusMessage,
  TrustLevel,
  TrustMessage,
  TrustThresholds,
  TrustView,
} from "./types";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

export interface TrustSnapshot {
  connection: ConnectionState;
  sessionId: string | null;
  challenged: boolean;
  /** Why the open challenge was raised, when the server said. */
  challengeCause: ChallengeCause | null;
  trust: TrustView | null;
  /** Local time (ms) `trust` arrived (its evidence age is as of then). */
  trustAt: number | null;
  /** Local time (ms) a one-time code was last entered on this session here (a step-up). */
  codeAt: number | null;
  /** The server's level lines and evidence age (from its status). */
  thresholds: TrustThresholds | null;
  /** Recent trust scores (0–100), oldest first. */
  history: number[];
  enrollment: EnrollmentMessage["progress"] | null;
  /** Learning waits for a verified session: a fresh code lets it go on. */
  enrollmentPaused: boolean;
  /** Modalities scored by a trained model (the rest are still enrolling). */
  trained: { keystroke: boolean; mouse: boolean };
  lastModality: "keystroke" | "mouse" | null;
  lastError: ServerError | null;
  reconnectAttempts: number;
}

export interface TrustChannelOptions {
  token: TokenSource;
  factory?: SocketFactory;
  /** Proofs of the key the token is bound to, one per connect. */
  dpop?: DpopProof | null;
  /** bbauth's origin when it is not the page's ("https://bbauth.example"); the page's by default. */
  origin?: string;
  /** The local clock, ms. */
  now?: () => number;
  /** The token is dead (revoked, expired): sign the person out with this message. */
  onSessionLost?: (message: string) => void;
  /** The session was just challenged (trust too low, or the security team asked). */
  onChallenged?: () => void;
  /** The re-challenge was answered. */
  onRestored?: () => void;
  /** Delay before re-opening a socket the server closed, ms (grows with each try). */
  retryBaseMs?: number;
  historyLength?: number;
}

export const INITIAL_SNAPSHOT: TrustSnapshot = {
  connection: "connecting",
  sessionId: null,
  challenged: false,
  challengeCause: null,
  trust: null,
  trustAt: null,
  codeAt: null,
  thresholds: null,
  history: [],
  enrollment: null,
  enrollmentPaused: false,
  trained: { keystroke: false, mouse: false },
  lastModality: null,
  lastError: null,
  reconnectAttempts: 0,
};

const LEVELS: readonly TrustLevel[] = ["high", "medium", "low", "critical"];

/**
 * The server re-reads a session's last code every 10 s, so a "learning paused" notice sent
 * just after a code was entered may predate it: such notices are not shown.
 */
export const PAUSE_NOTICE_GRACE_MS = 15_000;

/**
 * The protected person's live channel: sends captured input, follows trust, enrollment and
 * challenges, and reconnects (socket.io's backoff for dropped connections; its own backoff when
 * the server closed or refused the socket for a reason that may pass).
 */
export class TrustChannel extends SnapshotStore<TrustSnapshot> {
  private socket: Socket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;
  private closed = false;
  private readonly options: Required<Pick<TrustChannelOptions, "retryBaseMs" | "historyLength" | "now">> & TrustChannelOptions;

  constructor(options: TrustChannelOptions) {
    super(INITIAL_SNAPSHOT);
    this.options = { retryBaseMs: 1000, historyLength: 120, now: Date.now, ...options };
  }

  // --- lifecycle -----------------------------------------------------------------------------

  open(): void {
    if (this.socket || this.closed) return;
    const { token, factory = defaultSocketFactory, dpop = null, origin = "" } = this.options;
    const socket = wire(openSocket("/", token, factory, dpop, origin), {
      connect: this.onConnect,
      disconnect: this.onDisconnect,
      connect_error: this.onConnectError,
      status: this.onStatus,
      enrollment: this.onEnrollment,
      trust: this.onTrust,
      reauth_required: this.onReauthRequired,
      reauth_ok: this.onReauthOk,
      revoked: this.onRevoked,
      error: this.onServerError,
    });
    this.socket = socket;
    socket.io?.on?.("reconnect_attempt", this.onReconnectAttempt);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.io?.off?.("reconnect_attempt", this.onReconnectAttempt);
      socket.removeAllListeners?.();
      socket.disconnect();
    }
    this.update({ connection: "closed" });
  }

  /** Whether input can go out now: connected, and not in a challenge (that span is not scored). */
  canSend = (): boolean => Boolean(this.socket?.connected) && !this.snapshot.challenged;

  sendInput = (events: WireEvent[]): void => {
    if (!this.socket || events.length === 0) return;
    this.socket.emit("input", { events });
  };

  /** The re-challenge was answered over REST; the server confirms with reauth_ok as well. */
  markRestored(): void {
    if (this.snapshot.challenged) this.update({ challenged: false, challengeCause: null });
  }

  /** Mark challenged from outside (a REST call answered 401 reauth_required). */
  markChallenged(): void {
    if (!this.snapshot.challenged) this.update({ challenged: true });
  }

  /** A fresh one-time code was entered on this session (a step-up): it is evidence of its own,
   * and what paused learning waits for. */
  markSteppedUp(): void {
    this.update({ codeAt: this.options.now(), enrollmentPaused: false });
  }

  // --- socket events -----------------------------------------------------------------------

  private onConnect = () => {
    this.retries = 0;
    this.update({ connection: "connected", reconnectAttempts: 0, lastError: null });
  };

  private onDisconnect = (reason: string) => {
    if (this.closed) return;
    if (reason === "io server disconnect") {
      // The server closed us (e.g. revoked): socket.io does not retry this on its own. Retrying
      // is how we learn why: a dead token is refused with its reason.
      this.update({ connection: "reconnecting" });
      this.scheduleRetry();
    } else if (reason !== "io client disconnect") {
      this.update({ connection: "reconnecting" });
    }
  };

  private onConnectError = (err: unknown) => {
    if (this.closed) return;
    const lost = sessionLostBy(err);
    if (lost !== null) return this.end(lost);
    this.update({ connection: "reconnecting" });
    // A refusal by the server is final for socket.io (socket.active is false): retry ourselves.
    if (this.socket && !this.socket.active) this.scheduleRetry();
  };

  private scheduleRetry() {
    if (this.retryTimer !== null || this.closed) return;
    const delay = Math.min(30_000, this.options.retryBaseMs * 2 ** this.retries);
    this.retries += 1;
    this.update({ reconnectAttempts: this.retries });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.socket && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private onReconnectAttempt = (attempt: number) => {
    this.update({ connection: "reconnecting", reconnectAttempts: attempt });
  };

  private onStatus = (msg: StatusMessage) => {
    const versions = msg.model_versions ?? { keystroke: null, mouse: null };
    this.update({
      sessionId: msg.session_id,
      challenged: msg.state === "challenged",
      ...(msg.trust ? { trust: normalizeTrust(msg.trust), trustAt: this.options.now() } : {}),
      thresholds: msg.thresholds ?? this.snapshot.thresholds,
      history: Array.isArray(msg.history) ? msg.history.slice(-this.options.historyLength) : [],
      trained: {
        keystroke: versions.keystroke != null,
        mouse: versions.mouse != null,
      },
    });
    if (msg.state === "challenged") this.options.onChallenged?.();
  };

  private onEnrollment = (msg: EnrollmentMessage) => {
    const p = msg.progress;
    const { codeAt } = this.snapshot;
    const justVerified = codeAt !== null && this.options.now() - codeAt < PAUSE_NOTICE_GRACE_MS;
    this.update({
      enrollment: p ?? this.snapshot.enrollment,
      enrollmentPaused: msg.paused === "verify" && !justVerified,
      trained: {
        keystroke: this.snapshot.trained.keystroke || Boolean(p?.keystroke?.trained),
        mouse: this.snapshot.trained.mouse || Boolean(p?.mouse?.trained),
      },
    });
  };

  private onTrust = (msg: TrustMessage) => {
    const history = [...this.snapshot.history, msg.score].slice(-this.options.historyLength);
    this.update({
      trust: normalizeTrust(msg),
      trustAt: this.options.now(),
      history,
      lastModality: msg.modality,
      trained: { ...this.snapshot.trained, [msg.modality]: true },
    });
  };

  private onReauthRequired = (msg?: ReauthRequiredMessage) => {
    const was = this.snapshot.challenged;
    this.update({ challenged: true, challengeCause: msg?.cause ?? this.snapshot.challengeCause });
    if (!was) this.options.onChallenged?.();
  };

  private onReauthOk = (msg: { trust?: TrustView }) => {
    const trust = msg?.trust ? normalizeTrust(msg.trust) : this.snapshot.trust;
    this.update({
      challenged: false,
      challengeCause: null,
      trust,
      trustAt: msg?.trust ? this.options.now() : this.snapshot.trustAt,
      history: trust ? [...this.snapshot.history, trust.score].slice(-this.options.historyLength) : this.snapshot.history,
    });
    this.options.onRestored?.();
  };

  private onRevoked = (msg?: RevokedMessage) => {
    this.end(revokedMessage(msg));
  };

  /** The token is dead: tell the page why, and stop. */
  private end(message: string): void {
    this.options.onSessionLost?.(message);
    this.close();
  }

  private onServerError = (err: ServerError) => {
    this.update({ lastError: err });
  };
}

function normalizeTrust(t: TrustView): TrustView {
  const level = LEVELS.includes(t.level) ? t.level : "medium";
  const age = t.evidence_age_s == null ? null : Number(t.evidence_age_s);
  return {
    score: Number(t.score),
    level,
    windows: t.windows ?? 0,
    verified: t.verified === true,
    evidence_age_s: age !== null && Number.isFinite(age) ? age : null,
  };
}

/** Why the session ended, for the login page. */
export function revokedMessage(msg?: RevokedMessage): string {
  if (msg?.reason === "session_expired") return "This session has expired. Sign in again.";
  switch (msg?.ended_by) {
    case "admin":
      return "This session was revoked by the security team. Sign in again.";
    case "owner":
      return "This session was ended from another of your sessions. Sign in again.";
    case "system":
      return msg.reason ? `This session was revoked (${msg.reason}). Sign in again.` : "This session was revoked. Sign in again.";
    default:
      return "This session was revoked. Sign in again.";
  }
}
