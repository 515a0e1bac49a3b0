import type { AdminSessionRow } from "../contract/socket";

/** A live session as the /admin "sessions" feed lists it. */
export const SESSION_ROW: AdminSessionRow = {
  session_id: "3b5ace6b-e824-4ae4-b3b6-60be0ad5bed7",
  user_id: "u-alice",
  email: "alice@example.com",
  state: "active",
  connected_since: 1_700_000_000,
  connected_seconds: 125,
  sockets: 1,
  events_per_second: 12.34,
  model_versions: { keystroke: null, mouse: 2 },
  trust: 83.2,
  level: "high",
  history: [100, 90, 83.2],
  verified: true,
  evidence_age_s: 4.2,
  last_evidence: 0.52,
  rule: null,
};
