/**
 * Raw input events as the Socket.IO "input" message carries them: the types generated from the
 * AsyncAPI document (`InputBatch`, in `src/contract/asyncapi.json`).
 *
 * A key event: `t` in ms (performance.now()), `key` the key's class (`./keyclass`: never the
 * character nor which key it was), `slot`/`same` to pair and compare presses. A pointer event:
 * `t` in ms, `x`/`y` in CSS px (clientX/Y), wheel deltas in px.
 */
import type { KeyWireEvent, MouseWireEvent } from "../../../src/contract/socket";

export type { KeyWireEvent, MouseWireEvent };

export type WireEvent = KeyWireEvent | MouseWireEvent;

/** Where captured events go (the batcher's `push`). */
export type EventSink = (event: WireEvent) => void;

export function isKeyEvent(event: WireEvent): event is KeyWireEvent {
  return "key" in event;
}

/** Timestamps keep 3 decimals (µs): enough for the models, compact on the wire. */
export function roundMs(t: number): number {
  return Math.round(t * 1000) / 1000;
}

/** The clock capture uses: high-resolution, monotonic, ms. */
export const now = (): number => performance.now();
