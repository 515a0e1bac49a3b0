import type { EventSink } from "./events";
import { isIgnoredEvent } from "./ignore";
import { KeyReducer } from "./keyclass";

/** Where listeners go, and the clock (ms) events are stamped with. */
export interface ListenOptions {
  target: Document | HTMLElement;
  now: () => number;
}

const LISTENER = { capture: true, passive: true } as const;

/**
 * Key down/up timings (ms) and key classes (hand, row, finger or role: `./keyclass`) of
 * `target`, never the character nor which key it was, never of ignored fields; auto-repeat is
 * skipped. The key is reduced here, before the event reaches the sink. Returns the function
 * that stops listening.
 */
export function captureKeys(sink: EventSink, { target, now }: ListenOptions): () => void {
  const reducer = new KeyReducer();
  const onKey = (e: Event) => {
    const ke = e as KeyboardEvent;
    const t = now();
    if (ke.repeat || !ke.code || isIgnoredEvent(ke)) return;
    const event = reducer.reduce(t, ke.type === "keydown" ? "down" : "up", ke.code);
    if (event) sink(event);
  };
  target.addEventListener("keydown", onKey, LISTENER);
  target.addEventListener("keyup", onKey, LISTENER);
  return () => {
    target.removeEventListener("keydown", onKey, LISTENER);
    target.removeEventListener("keyup", onKey, LISTENER);
  };
}
