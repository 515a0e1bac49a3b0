import type { Challenge } from "../api/types";

/**
 * How long a challenge's code works and how many tries are left, in words ("It works for about
 * 5 minutes; 5 tries left."). An authenticator app's code changes by itself, so only its tries.
 */
export function codeTerms(challenge: Pick<Challenge, "channel" | "expires_at" | "attempts_left">, now: number = Date.now()): string {
  const tries = `${challenge.attempts_left} ${challenge.attempts_left === 1 ? "try" : "tries"} left.`;
  const expires = new Date(challenge.expires_at).getTime();
  if (challenge.channel === "totp" || Number.isNaN(expires)) return tries;
  const minutes = Math.round((expires - now) / 60_000);
  if (minutes <= 0) return `This code has expired: ask for a new one. ${tries}`;
  return `It works for about ${minutes} ${minutes === 1 ? "minute" : "minutes"}; ${tries}`;
}
