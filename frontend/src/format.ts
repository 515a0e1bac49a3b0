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

/** How many other sessions an action signed out, as a sentence. */
export function formatEndedSessions(n: number): string {
  if (n === 0) return "No other session was open.";
  return n === 1 ? "1 other session was signed out." : `${n} other sessions were signed out.`;
}
