import type { EventSink, MouseWireEvent } from "./events";
import { isIgnoredEvent } from "./ignore";
import type { ListenOptions } from "./keyboard";

const LISTENER = { capture: true, passive: true } as const;

export interface MouseListenOptions extends ListenOptions {
  /** Shortest gap between two recorded moves, ms (moves in between are coalesced). */
  throttleMs: number;
}

/** Wheel deltas in px whatever the device reports (lines are ~16 px, pages a viewport). */
export function wheelPixels(e: WheelEvent): { dx: number; dy: number } {
  const scale =
    e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? (typeof window !== "undefined" ? window.innerHeight : 800) : 1;
  return { dx: e.deltaX * scale, dy: e.deltaY * scale };
}

/**
 * Pointer moves (coalesced to at most one per `throttleMs`, the last position is never lost),
 * button presses and releases, and wheel turns of `target`, in client px and ms. Returns the
 * function that stops listening.
 */
export function captureMouse(sink: EventSink, { target, now, throttleMs }: MouseListenOptions): () => void {
  let lastMoveAt = -Infinity;
  let pending: MouseWireEvent | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const emitPending = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (pending) {
      lastMoveAt = pending.t;
      sink(pending);
      pending = null;
    }
  };

  const onMove = (e: Event) => {
    const me = e as MouseEvent;
    const t = now();
    if (isIgnoredEvent(me)) return;
    const event: MouseWireEvent = { t, type: "move", x: me.clientX, y: me.clientY };
    if (t - lastMoveAt >= throttleMs) {
      pending = null;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      lastMoveAt = t;
      sink(event);
      return;
    }
    // Too soon: keep the newest position and record it when the throttle gap is over.
    pending = event;
    if (timer === null) timer = setTimeout(emitPending, Math.max(0, lastMoveAt + throttleMs - t));
  };

  const onButton = (e: Event) => {
    const me = e as MouseEvent;
    const t = now();
    if (isIgnoredEvent(me)) return;
    emitPending();
    sink({ t, type: me.type === "mousedown" ? "down" : "up", x: me.clientX, y: me.clientY, button: me.button });
  };

  const onWheel = (e: Event) => {
    const we = e as WheelEvent;
    const t = now();
    if (isIgnoredEvent(we)) return;
    emitPending();
    sink({ t, type: "wheel", x: we.clientX, y: we.clientY, ...wheelPixels(we) });
  };

  target.addEventListener("mousemove", onMove, LISTENER);
  target.addEventListener("mousedown", onButton, LISTENER);
  target.addEventListener("mouseup", onButton, LISTENER);
  target.addEventListener("wheel", onWheel, LISTENER);
  return () => {
    target.removeEventListener("mousemove", onMove, LISTENER);
    target.removeEventListener("mousedown", onButton, LISTENER);
    target.removeEventListener("mouseup", onButton, LISTENER);
    target.removeEventListener("wheel", onWheel, LISTENER);
    // A move held back by the throttle is dropped with the listeners: capture stopped before it.
    if (timer !== null) clearTimeout(timer);
  };
}
