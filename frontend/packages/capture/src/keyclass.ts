/**
 * What a key event says about the key, and nothing more: its class (hand, row and finger of a
 * character key, else its role), never the character nor which key it was. The table is the
 * server's (`models.keyclass`, written into `src/contract/keyclasses.json` by `bbauth contract`),
 * so live typing and the evaluated data sets are reduced alike.
 */
import table from "../../../src/contract/keyclasses.json";
import type { KeyWireEvent } from "./events";

type KeyClass = KeyWireEvent["key"];

const CLASSES: Readonly<Record<string, KeyClass>> = table.codes as Record<string, KeyClass>;

/** The class of a `KeyboardEvent.code`; a code not in the table is `other`. */
export function keyClass(code: string): KeyClass {
  return Object.hasOwn(CLASSES, code) ? CLASSES[code] : "other";
}

/**
 * Reduces one page's key events to class events, as `models.keyreducer` does on the server:
 * each held key gets the lowest slot free in its class (so overlapping presses pair), a press of
 * the key pressed just before is marked `same`, and auto-repeat and releases of presses never
 * seen are dropped. Codes live here only while a key is held.
 */
export class KeyReducer {
  private held = new Map<string, { key: KeyClass; slot: number }>();
  private lastDown: string | null = null;

  reduce(t: number, type: "down" | "up", code: string): KeyWireEvent | null {
    if (type === "down") {
      if (this.held.has(code)) return null;
      const key = keyClass(code);
      const busy = new Set([...this.held.values()].filter((h) => h.key === key).map((h) => h.slot));
      let slot = 0;
      while (busy.has(slot)) slot += 1;
      if (slot > table.max_slot) return null;
      this.held.set(code, { key, slot });
      const same = code === this.lastDown;
      this.lastDown = code;
      return wire(t, type, key, slot, same);
    }
    const held = this.held.get(code);
    if (!held) return null;
    this.held.delete(code);
    return wire(t, type, held.key, held.slot, false);
  }
}

function wire(t: number, type: "down" | "up", key: KeyClass, slot: number, same: boolean): KeyWireEvent {
  const event: KeyWireEvent = { t, type, key };
  if (slot) event.slot = slot;
  if (same) event.same = true;
  return event;
}
