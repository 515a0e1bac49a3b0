/** Messages of the Socket.IO channel (see PROTOCOL.md). */

export type TrustLevel = "high" | "medium" | "low" | "critical";

export interface TrustView {
  score: number;
  level: TrustLevel;
  windows: number;
  /** Behavioural evidence (a scored window, or a code) younger than `evidence_max_age_s`. */
  verified: boolean;
  /** Seconds since the last evidence, as of when the server sent this; null: none yet. */
  evidence_age_s: number | null;
}

/** The server's trust settings: the levels' lines (0–100) and the evidence's maximum age. */
export interface TrustThresholds {
  /** A session whose trust falls below this is re-challenged. */
  challenge_below: number;
  /** Trust at or above this is "high". */
  high_at: number;
  /** Trust below this is "critical"; from here to the challenge line, "low". */
  low_at: number;
  /** A session with no evidence for longer than this (s) is unverified. */
  evidence_max_age_s: number;
}

export interface StatusMessage {
  session_id: string;
  state: "active" | "challenged";
  trust: TrustView;
  history: number[];
  model_versions: { keystroke: number | null; mouse: number | null };
  thresholds?: TrustThresholds;
}

export interface ModalityProgress {
  samples: number;
  /** Windows waiting for the database (it was away). */
  pending?: number;
  needed: number;
  ratio: number;
  trained: boolean;
}

export interface EnrollmentMessage {
  mode: "enrollment";
  progress: { keystroke: ModalityProgress; mouse: ModalityProgress };
  /** "verify": the modality being learned waits for a verified session (a fresh code). */
  paused?: "verify";
}

export interface TrustMessage extends TrustView {
  modality: "keystroke" | "mouse";
  /** Only some servers send it; the person's own channel does not. */
  p_genuine?: number;
  window_size: number;
}

/** The acknowledgement of `ping_trust`: the trust as of now, or why there is none. */
export type PingTrustAck = Ack<{ state: "active" | "challenged"; trust: TrustView }>;

/** Why the session was challenged: its trust fell, the security team asked, or a policy. */
export type ChallengeCause = "trust" | "admin" | "policy";

export interface ReauthRequiredMessage {
  session_id: string;
  cause?: ChallengeCause;
  reason?: string;
}

export interface RevokedMessage {
  session_id: string;
  ended_by?: "owner" | "admin" | "system" | null;
  reason?: string;
}

/** The one problem shape (RFC 9457), as REST answers it: `error` events, refused connections
 *  and failed acknowledgements carry it too. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** An `error` event: a problem with the batch, and what was dropped. */
export interface ServerError extends Problem {
  dropped?: Record<string, number>;
  dropped_batches?: number;
}

/** Every acknowledgement: `{ok: true, ...}` or `{ok: false, error}`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: Problem };

export interface AdminSessionRow {
  session_id: string;
  user_id: string | null;
  email: string | null;
  state: string;
  connected_since: number | null;
  connected_seconds: number;
  sockets: number;
  events_per_second: number;
  model_versions: { keystroke: number | null; mouse: number | null } | null;
  trust: number | null;
  level: TrustLevel | null;
  history: number[];
  /** Evidence younger than the maximum age (see TrustView). */
  verified: boolean;
  evidence_age_s: number | null;
  /** The last window's evidence (log-likelihood ratio, nats); for the security team only. */
  last_evidence: number | null;
  /** The rule that fired on this session, if one did. */
  rule: "challenge_below" | "revoke_below" | null;
}

/** A live session that holds no socket: it uses the API only, so no behaviour is seen of it. */
export interface UnmonitoredSession {
  session_id: string;
  state: string;
  email: string | null;
  /** ISO 8601. */
  last_seen_at: string;
  created_at: string;
}

export interface SessionsMessage {
  sessions: AdminSessionRow[];
  unmonitored?: UnmonitoredSession[];
  /** Server time, epoch seconds. */
  at: number;
}
