/** Messages of the Socket.IO channel (see PROTOCOL.md). */

export type TrustLevel = "high" | "medium" | "low" | "critical";

export interface TrustView {
  score: number;
  level: TrustLevel;
  windows: number;
}

export interface StatusMessage {
  session_id: string;
  state: "active" | "challenged";
  trust: TrustView;
  history: number[];
  model_versions: { keystroke: number | null; mouse: number | null };
}

export interface ModalityProgress {
  samples: number;
  needed: number;
  ratio: number;
  trained: boolean;
}

export interface EnrollmentMessage {
  mode: "enrollment";
  progress: { keystroke: ModalityProgress; mouse: ModalityProgress };
}

export interface TrustMessage extends TrustView {
  modality: "keystroke" | "mouse";
  /** Only some servers send it; the person's own channel does not. */
  p_genuine?: number;
  window_size: number;
}

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

export interface ServerError {
  code: string;
  message: string;
  dropped?: Record<string, number>;
}

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
  /** The last window's evidence (log-likelihood ratio); for the security team only. */
  last_evidence?: number | null;
}

export interface SessionsMessage {
  sessions: AdminSessionRow[];
  at: number;
}
