/** Bodies of the bbauth REST API (see PROTOCOL.md and /api/openapi.json). */

export interface User {
  id: string;
  email: string;
  display_name: string;
  role: "admin" | "user" | string;
  totp_enabled: boolean;
  created_at?: string;
  last_login_at?: string | null;
  /** Security changes are frozen after a "this wasn't me" link, until the next sign-in. */
  frozen?: boolean;
  /** Too many wrong one-time codes: codes are refused until unlocked. */
  codes_locked?: boolean;
}

export interface Challenge {
  /** Handle to answer a sign-in or sign-up with; null for challenges of a signed-in session. */
  challenge_id: string | null;
  channel: "email" | "totp";
  purpose: "login" | "registration" | "reauth" | "step_up" | "email_change" | string;
  destination: string;
  expires_at: string;
  resends_left: number;
  attempts_left?: number;
}

export interface SessionInfo {
  id: string;
  user_id: string;
  state: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  ip: string;
  user_agent: string;
  email?: string;
  /** When a one-time code was last entered on this session. */
  stepped_up_at?: string | null;
  ended_by?: "owner" | "admin" | "system" | null;
  revoked_reason?: string | null;
}

export interface TokenResponse {
  token: string;
  token_type: string;
  expires_at: string;
  session: SessionInfo;
  user: User;
  /** Only for a browser new to the account: send it at its next sign-in. */
  device_token?: string | null;
}

export interface TotpSetup {
  secret: string;
  otpauth_uri: string;
  qr_png: string;
}

export interface ModelStatus {
  version: number | null;
  samples: number;
  needed: number;
  eer: number | null;
}

export interface BehaviorStatus {
  user_id: string;
  email: string;
  mode: "enrollment" | "verification" | string;
  last_trained_at: string | null;
  keystroke: ModelStatus;
  mouse: ModelStatus;
}

export interface EndedSessions {
  ended_sessions: number;
}

export type NoticeKind =
  | "totp_enabled"
  | "totp_disabled"
  | "password_changed"
  | "email_changed"
  | "enrollment_reset"
  | "factors_reset"
  | "codes_locked"
  | "session_revoked_codes";

/** A security notice mailed to the account's owner. */
export interface SecurityNotice {
  id: string;
  kind: NoticeKind | string;
  at: string;
  ip: string;
  /** Its "this wasn't me" (or unlock) link was used. */
  link_used: boolean;
}

/** What a security notice's link did. */
export interface LinkOutcome {
  action: "secured" | "unlocked";
  revoked_sessions: number;
}

export interface AdminUser extends User {
  failed_logins: number;
  locked_until: string | null;
  failed_codes: number;
  active_sessions: number;
}

/** A payment approved on the work page (`POST /api/demo/payments`). */
export interface PaymentReceipt {
  reference: string;
  payee: string;
  amount_cents: number;
  approved_at: string;
}

export interface FieldError {
  /** Where: "body.password", "query.limit", … */
  field: string;
  message: string;
}

/** RFC 9457 problem details, as every error of the API answers. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
  /** step_up_required: the challenge to answer, and how recent a code must be (s). */
  challenge?: Challenge;
  max_age?: number;
  /** invalid_code: wrong codes the challenge still accepts, and why this one failed. */
  attempts_left?: number;
  reason?: "wrong" | "expired" | string;
}
