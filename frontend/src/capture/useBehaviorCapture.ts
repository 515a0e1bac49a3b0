import { useEffect, useMemo, useState } from "react";
import { EventBatcher } from "./batcher";
import { useDocumentVisible } from "./useDocumentVisible";
import { useKeystrokeCapture } from "./useKeystrokeCapture";
import { useMouseCapture } from "./useMouseCapture";
import type { WireEvent } from "./events";

/** Where batches go: the live channel (or anything with the same two methods). */
export interface InputChannel {
  canSend: () => boolean;
  sendInput: (events: WireEvent[]) => void;
}

export interface CaptureStats {
  /** Capture is running (signed in, tab visible, no challenge open). */
  active: boolean;
  /** Events sent since the page loaded. */
  sent: number;
}

/** Keyboard and mouse capture of the whole page, batched every 250 ms into "input" messages. */
export function useBehaviorCapture(channel: InputChannel | null, enabled: boolean): CaptureStats {
  const visible = useDocumentVisible();
  const active = enabled && visible && channel !== null;
  const [sent, setSent] = useState(0);

  const batcher = useMemo(
    () =>
      channel
        ? new EventBatcher({ send: channel.sendInput, canSend: channel.canSend, intervalMs: 250 })
        : null,
    [channel],
  );

  useEffect(() => {
    if (!batcher) return;
    batcher.start();
    // The counter for the UI moves once a second, not once per batch.
    const tick = setInterval(() => setSent(batcher.sent), 1000);
    return () => {
      batcher.flush();
      batcher.stop();
      clearInterval(tick);
    };
  }, [batcher]);

  useEffect(() => {
    if (!batcher) return;
    if (!visible) batcher.flush(); // what was typed before the tab was hidden still counts
    if (!enabled) batcher.clear(); // a challenged span is neither scored nor learned from
  }, [batcher, visible, enabled]);

  const sink = batcher ? batcher.push : noop;
  useKeystrokeCapture(sink, { enabled: active });
  useMouseCapture(sink, { enabled: active });
  return useMemo(() => ({ active, sent }), [active, sent]);
}

function noop(): void {}
