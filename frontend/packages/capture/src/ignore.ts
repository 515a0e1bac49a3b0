/**
 * What is never captured: secrets. Key and pointer events whose target is a password input or a
 * one-time-code field (`autocomplete="one-time-code"`), or sits inside an element marked
 * `data-bbauth-ignore`, are dropped before they reach a batch. Fields inside open shadow roots
 * (web components) count as well: an event's composed path is read, not its retargeted host.
 */

export const IGNORE_ATTR = "data-bbauth-ignore";

/** Spread on an element to exclude it (and everything inside it) from capture. */
export const ignoreCapture = { [IGNORE_ATTR]: "" } as const;

/** Whether `target` is a secret field, or sits inside an ignored element (this document only). */
export function isIgnoredTarget(target: EventTarget | null): boolean {
  if (typeof Element === "undefined" || !(target instanceof Element)) return false;
  return isSecretField(target) || target.closest(`[${IGNORE_ATTR}]`) !== null;
}

/** Whether `event` comes from a secret field or an ignored element, across shadow roots. */
export function isIgnoredEvent(event: Event): boolean {
  const path = event.composedPath();
  if (path.length === 0) return isIgnoredTarget(event.target);
  return path.some((node) => node instanceof Element && (isSecretField(node) || node.hasAttribute(IGNORE_ATTR)));
}

function isSecretField(element: Element): boolean {
  if (!(element instanceof HTMLInputElement)) return false;
  if (element.type.toLowerCase() === "password") return true;
  // `autocomplete` is a token list ("section-x one-time-code"): any token may name the field.
  const tokens = (element.getAttribute("autocomplete") ?? "").toLowerCase().split(/\s+/);
  return tokens.includes("one-time-code");
}
