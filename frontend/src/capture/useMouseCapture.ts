import { useEffect, useRef } from "react";
import { now as defaultNow, type EventSink, type MouseWireEvent } from "./events";
import { isExcludedTarget } from "./nocapture";
import type { CaptureOptions } from "./useKeystrokeCapture";
import { useDocumentVisible } from "./useDocumentVisible";

export interface MouseCaptureOptions extends CaptureOptions {
  /** Shortest gap between two recorded moves, ms (moves in between are coalesced). */
  throttleMs?: number;
}

/** Wheel deltas in px whatever the device reports (lines are ~16 px, pages a viewport). */
export function wheelPixels(e: WheelEvent): { dx: number; dy: number } {
  const scale =
    e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? (typeof window !== "undefined" ? window.innerHeight : 800) : 1;
  return { dx: e.deltaX * scale, dy: e.deltaY * scale };
}

/**
 * Pointer moves (coalesced to at most one per `throttleMs`, the last position is never lost),
 * button presses and releases, and wheel turns, in client px and ms.
 */
export function useMouseCapture(sink: EventSink, options: MouseCaptureOptions = {}): void {
  const { enabled = true, now = defaultNow, throttleMs = 16 } = options;
  const target = options.target === undefined ? document : options.target;
  const visible = useDocumentVisible();
  const sinkRef = useRef(sink);
  sinkRef.current = sink;
  const nowRef = useRef(now);
  nowRef.current = now;

  useEffect(() => {
    if (!enabled || !visible || !target) return;
    let lastMoveAt = -Infinity;
    let pending: MouseWireEvent | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;

    const emitPending = () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (pending) {
        lastMoveAt = pending.t;
        sinkRef.current(pending);
        pending = null;
      }
    };

    const onMove = (e: Event) => {
      const me = e as MouseEvent;
      const t = nowRef.current();
      if (isExcludedTarget(me.target)) return;
      const event: MouseWireEvent = { t, type: "move", x: me.clientX, y: me.clientY };
      if (t - lastMoveAt >= throttleMs) {
        pending = null;
        if (timer !== null) clearTimeout(timer);
        timer = null;
        lastMoveAt = t;
        sinkRef.current(event);
        return;
      }
      // Too soon: keep the newest position and record it when the throttle gap is over.
      pending = event;
      if (timer === null) timer = setTimeout(emitPending, Math.max(0, lastMoveAt + throttleMs - t));
    };

    const onButton = (e: Event) => {
      const me = e as MouseEvent;
      const t = nowRef.current();
      if (isExcludedTarget(me.target)) return;
      emitPending();
      sinkRef.current({
        t,
        type: me.type === "mousedown" ? "down" : "up",
        x: me.clientX,
        y: me.clientY,
        button: me.button,
      });
    };

    const onWheel = (e: Event) => {
      const we = e as WheelEvent;
      const t = nowRef.current();
      if (isExcludedTarget(we.target)) return;
      emitPending();
      sinkRef.current({ t, type: "wheel", x: we.clientX, y: we.clientY, ...wheelPixels(we) });
    };

    const opts = { capture: true, passive: true } as const;
    target.addEventListener("mousemove", onMove, opts);
    target.addEventListener("mousedown", onButton, opts);
    target.addEventListener("mouseup", onButton, opts);
    target.addEventListener("wheel", onWheel, opts);
    return () => {
      target.removeEventListener("mousemove", onMove, opts);
      target.removeEventListener("mousedown", onButton, opts);
      target.removeEventListener("mouseup", onButton, opts);
      target.removeEventListener("wheel", onWheel, opts);
      if (timer !== null) clearTimeout(timer);
    };
  }, [enabled, visible, target, throttleMs]);
}
