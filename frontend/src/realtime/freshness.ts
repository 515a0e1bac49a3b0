import { useEffect, useReducer } from "react";
import type { TrustThresholds, TrustView } from "@bbauth/capture";

/** What the trust channel knows of a session's last evidence. */
export interface EvidenceSeen {
  trust: TrustView | null;
  /** Local time (ms) `trust` arrived: its `evidence_age_s` is as of then. */
  trustAt: number | null;
  /** Local time (ms) a one-time code was last entered on the session here: a code is evidence too. */
  codeAt: number | null;
  thresholds: TrustThresholds | null;
}

/**
 * Until when (local ms) the session counts as verified: its last evidence (a scored window,
 * or a code) plus the server's maximum evidence age. Null: not verified. Without thresholds
 * (before the server's status) the server's word stands, with no end.
 */
export function verifiedUntil({ trust, trustAt, codeAt, thresholds }: EvidenceSeen): number | null {
  if (!thresholds) return trust?.verified ? Infinity : null;
  const windowAt =
    trust?.verified && trust.evidence_age_s != null && trustAt != null ? trustAt - trust.evidence_age_s * 1000 : null;
  const last = Math.max(windowAt ?? -Infinity, codeAt ?? -Infinity);
  return Number.isFinite(last) ? last + thresholds.evidence_max_age_s * 1000 : null;
}

/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether the session is verified now; re-renders by itself at the moment it stops being so
 * (one timer, no polling).
 */
export function useVerified(seen: EvidenceSeen): boolean {
  const until = verifiedUntil(seen);
  const [, wake] = useReducer((n: number) => n + 1, 0);
  const now = Date.now();
  useEffect(() => {
    if (until === null || !Number.isFinite(until) || until < Date.now()) return;
    const timer = setTimeout(wake, Math.min(until - Date.now() + 1, MAX_TIMER_MS));
    return () => clearTimeout(timer);
  }, [until]);
  return until !== null && now <= until;
}
