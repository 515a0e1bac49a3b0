/** 401 codes after which the token is worthless here: the person signs in again. */
export const SESSION_LOST_CODES: ReadonlySet<string> = new Set([
  "session_revoked",
  "session_expired",
  "unauthorized",
  "invalid_dpop_proof",
]);

/** Why the session is over, for people (the server's sentence, or ours where it is technical). */
export function sessionLostMessage(code: string, detail: string | null | undefined): string {
  if (code === "invalid_dpop_proof") return "This browser no longer holds the key of your session. Sign in again.";
  return detail || "Your session has ended; sign in again.";
}
