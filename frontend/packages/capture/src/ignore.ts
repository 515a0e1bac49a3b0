/**
 * What is never captured: secrets. Key and pointer events whose target is a password input or a
 * one-time-code field (`autocomplete="one-time-code"`), or sits inside an element marked
 * `data-bbauth-ignore`, are dropped before they are even timestamped.
 */

export const IGNORE_ATTR = "data-bbauth-ignore";

/** Spread on an element to exclude it (and everything inside it) from capture. */
export const ignoreCapture = { [IGNORE_ATTR]: "" } as const;

export function isIgnoredTarget(target: EventTarget | null): boolean {
  if (typeof Element === "undefined" || !(target instanceof Element)) return false;
  if (target instanceof HTMLInputElement) {
    if (target.type.toLowerCase() === "password") return true;
    if (isOneTimeCode(target)) return true;
  }
  return target.closest(`[${IGNORE_ATTR}]`) !== null;
}

/** `autocomplete` is a token list ("section-x one-time-code"): any token may name the field. */
function isOneTimeCode(input: HTMLInputElement): boolean {
  const tokens = (input.getAttribute("autocomplete") ?? "").toLowerCase().split(/\s+/);
  return tokens.includes("one-time-code");
}
