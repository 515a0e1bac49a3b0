import type { EventSink } from "./events";
import { isIgnoredEvent } from "./ignore";

/** Where listeners go, and the clock (ms) events are stamped with. */
export interface ListenOptions {
  target: Document | HTMLElement;
  now: () => number;
}

const LISTENER = { capture: true, passive: true } as const;

/**
 * Key down/up timings (ms) and physical key codes (`KeyboardEvent.code`, never the character)
 * of `target`, never of ignored fields; auto-repeat is skipped. Returns the function that stops
 * listening.
 */
export function captureKeys(sink: EventSink, { target, now }: ListenOptions): () => void {
  const onKey = (e: Event) => {
    const ke = e as KeyboardEvent;
    const t = now();
    if (ke.repeat || !ke.code || isIgnoredEvent(ke)) return;
    sink({ t, type: ke.type === "keydown" ? "down" : "up", code: ke.code });
  };
  target.addEventListener("keydown", onKey, LISTENER);
  target.addEventListener("keyup", onKey, LISTENER);
  return () => {
    target.removeEventListener("keydown", onKey, LISTENER);
    target.removeEventListener("keyup", onKey, LISTENER);
  };
}
