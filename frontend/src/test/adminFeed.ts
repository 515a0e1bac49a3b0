import type { AdminSessionRow } from "../contract/socket";

/** A live session as the /admin "sessions" feed lists it (125 s connected, 4.2 s since its last evidence at `AT`). */
export const SESSION_ROW: AdminSessionRow = {
  session_id: "3b5ace6b-e824-4ae4-b3b6-60be0ad5bed7",
  user_id: "u-alice",
  email: "alice@example.com",
  state: "active",
  connected_since: 1_700_000_000,
  sockets: 1,
  events_per_second: 12.34,
  model_versions: { keystroke: null, mouse: 2 },
  trust: 83.2,
  level: "high",
  history: [100, 90, 83.2],
  verified: true,
  evidence_at: 1_700_000_120.8,
  last_evidence: 0.52,
  rule: null,
};

/** Server time of the feed's messages in these tests. */
export const AT = 1_700_000_125;

/** Counts of a feed with one connected, active session. */
export const COUNTS = { connected: 1, active: 1, challenged: 0, flagged: 0, replay: 0, machine: 0, unmonitored: 0 };

/** The default query, as the server echoes it. */
export const QUERY = { page: 0, page_size: 25, sort: "trust" as const, descending: false, state: null, liveness: null, user: null };

/** A whole page of `rows`, as the "sessions" event carries it. */
export function page(rows: AdminSessionRow[], extra: Record<string, unknown> = {}) {
  return { query: QUERY, sessions: rows, total: rows.length, counts: COUNTS, unmonitored: [], at: AT, ...extra };
}
