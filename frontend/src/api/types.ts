/** Bodies of the bbauth REST API (see PROTOCOL.md and /api/openapi.json). */

export interface User {
  id: string;
  email: string;
  display_name: string;
  role: "admin" | "user" | string;
  totp_enabled: boolean;
  created_at?: string;
  last_login_at?: string | null;
}

export interface Challenge {
  challenge_id: string | null;
  channel: "email" | "totp";
  purpose: string;
  destination: string;
  expires_at: string;
  resends_left: number;
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
}

export interface TokenResponse {
  token: string;
  token_type: string;
  expires_at: string;
  session: SessionInfo;
  user: User;
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

/** RFC 9457 problem details, as every error of the API answers. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: unknown;
}
