import type { TrustSnapshot } from "@bbauth/capture";
import { LEVEL_LABELS } from "../theme";

/** No model is trained yet: nothing is checked, so no score means anything. */
export function isLearning(snapshot: Pick<TrustSnapshot, "trained">): boolean {
  return !snapshot.trained.keystroke && !snapshot.trained.mouse;
}

/** The socket is down after having been up: the last score is stale. */
export function isOffline(snapshot: Pick<TrustSnapshot, "connection">): boolean {
  return snapshot.connection === "reconnecting" || snapshot.connection === "closed";
}

/** The session's trust in words, for screen readers and labels ("Trust 51 of 100, medium"). */
export function trustInWords(snapshot: Pick<TrustSnapshot, "trust" | "trained" | "connection">): string {
  if (isOffline(snapshot)) return "Trust unknown: offline, reconnecting";
  if (!snapshot.trust) return "Trust not known yet";
  if (isLearning(snapshot)) return "Trust: learning, not checked yet";
  const { score, level } = snapshot.trust;
  return `Trust ${Math.round(score)} of 100, ${LEVEL_LABELS[level].toLowerCase()}`;
}

/**
 * What a screen reader should hear when the snapshot moves from `was` to `now`: a new level, the
 * end of learning, a lost or regained connection. Null: nothing worth interrupting for (a score
 * moving within its level is not announced).
 */
export function trustNews(was: TrustSnapshot | null, now: TrustSnapshot): string | null {
  if (!was) return null;
  if (isOffline(now) && !isOffline(was)) return "Connection lost. Reconnecting; trust is not checked meanwhile.";
  if (!isOffline(now) && isOffline(was) && now.connection === "connected") return `Connection back. ${trustInWords(now)}.`;
  if (isLearning(was) && !isLearning(now)) return `Learning complete: bbauth is now checking your behaviour. ${trustInWords(now)}.`;
  const enrolled = (s: TrustSnapshot) => s.trained.keystroke && s.trained.mouse;
  if (!enrolled(was) && enrolled(now)) return `Enrollment complete: typing and pointer use are both checked. ${trustInWords(now)}.`;
  if (!isLearning(now) && now.trust && was.trust && now.trust.level !== was.trust.level) return `${trustInWords(now)}.`;
  return null;
}
