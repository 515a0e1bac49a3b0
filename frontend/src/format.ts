/** Duration in words: "45 s", "12 min", "3 h 05 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** A moment in the reader's locale, or a dash. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** The largest payment the API takes, in cents. */
export const MAX_AMOUNT_CENTS = 100_000_000;

const AMOUNT = /^(\d+|\d{1,3}(?:([.,])\d{3})+)(?:([.,])(\d{1,2}))?$/;

/**
 * An amount typed by a person in whole cents, or null if it is not one: at most two decimals
 * after "." or ","; thousands grouped by spaces, or by the other of the two ("1,250.75",
 * "1.250,75", "1 250,75"). A lone group ("1,250") is refused: it may be 1250 or 1.25, and a
 * payment must not guess.
 */
export function parseAmountCents(text: string): number | null {
  const match = AMOUNT.exec(text.replace(/[\s\u00a0\u202f]/g, ""));
  if (!match) return null;
  const [, units, group, decimal, fraction = ""] = match;
  if (group && (group === decimal || (!decimal && units.split(group).length === 2))) return null;
  const whole = group ? units.split(group).join("") : units;
  return Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
}

/** Cents as an amount in the reader's locale, always with two decimals ("1,234.50"). */
export function formatCents(cents: number): string {
  return (cents / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** How many other sessions an action signed out, as a sentence. */
export function formatEndedSessions(n: number): string {
  if (n === 0) return "No other session was open.";
  return n === 1 ? "1 other session was signed out." : `${n} other sessions were signed out.`;
}
