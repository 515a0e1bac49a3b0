import { useEffect, useRef } from "react";
import { now as defaultNow, type EventSink } from "./events";
import { isExcludedTarget } from "./nocapture";
import { useDocumentVisible } from "./useDocumentVisible";

export interface CaptureOptions {
  /** Capture at all (e.g. false while a re-challenge is open). */
  enabled?: boolean;
  /** Where listeners go; the whole document by default. */
  target?: Document | HTMLElement | null;
  /** Clock in ms; performance.now() by default (tests inject their own). */
  now?: () => number;
}

/**
 * Key down/up timings (ms) and physical key codes of the page, never of password or
 * `data-bbauth-nocapture` fields; auto-repeat is ignored and nothing is captured while the tab
 * is hidden.
 */
export function useKeystrokeCapture(sink: EventSink, options: CaptureOptions = {}): void {
  const { enabled = true, now = defaultNow } = options;
  const target = options.target === undefined ? document : options.target;
  const visible = useDocumentVisible();
  const sinkRef = useRef(sink);
  sinkRef.current = sink;
  const nowRef = useRef(now);
  nowRef.current = now;

  useEffect(() => {
    if (!enabled || !visible || !target) return;
    const onKey = (e: Event) => {
      const ke = e as KeyboardEvent;
      const t = nowRef.current();
      if (ke.repeat || !ke.code || isExcludedTarget(ke.target)) return;
      sinkRef.current({ t, type: ke.type === "keydown" ? "down" : "up", code: ke.code });
    };
    const opts = { capture: true, passive: true } as const;
    target.addEventListener("keydown", onKey, opts);
    target.addEventListener("keyup", onKey, opts);
    return () => {
      target.removeEventListener("keydown", onKey, opts);
      target.removeEventListener("keyup", onKey, opts);
    };
  }, [enabled, visible, target]);
}
