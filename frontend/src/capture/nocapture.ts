/**
 * What is never captured: secrets. Key and pointer events whose target is a password input, or
 * sits inside an element marked `data-bbauth-nocapture` (the login form, one-time-code inputs),
 * are dropped before they are even timestamped.
 */

export const NOCAPTURE_ATTR = "data-bbauth-nocapture";

/** Spread on an element to exclude it (and everything inside it) from capture. */
export const noCapture = { [NOCAPTURE_ATTR]: "" } as const;

export function isExcludedTarget(target: EventTarget | null): boolean {
  if (typeof Element === "undefined" || !(target instanceof Element)) return false;
  if (target instanceof HTMLInputElement && target.type.toLowerCase() === "password") return true;
  return target.closest(`[${NOCAPTURE_ATTR}]`) !== null;
}
