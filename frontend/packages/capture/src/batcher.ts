import { isKeyEvent, roundMs, type WireEvent } from "./events";

export interface BatcherOptions {
  /** Sends one batch; called with 1..maxBatch events. */
  send: (events: WireEvent[]) => void;
  /** Whether a batch can go out now (connected, not challenged); otherwise events wait. */
  canSend?: () => boolean;
  /** Flush period, ms. */
  intervalMs?: number;
  /** Largest batch the server accepts. */
  maxBatch?: number;
  /** Events kept while sending is impossible; the oldest are dropped beyond it. */
  maxBuffer?: number;
}

/**
 * Collects captured events and sends them as one "input" message every ~250 ms.
 *
 * Timestamps are kept non-decreasing per stream (keyboard, mouse), as the server requires;
 * while `canSend()` is false the events wait in a bounded buffer.
 */
export class EventBatcher {
  private buffer: WireEvent[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastKeyT = -Infinity;
  private lastMouseT = -Infinity;
  private readonly send: (events: WireEvent[]) => void;
  private readonly canSend: () => boolean;
  private readonly intervalMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffer: number;
  /** Events dropped because the buffer overflowed while sending was impossible. */
  dropped = 0;
  /** Events handed to `send` so far. */
  sent = 0;

  constructor(options: BatcherOptions) {
    this.send = options.send;
    this.canSend = options.canSend ?? (() => true);
    this.intervalMs = options.intervalMs ?? 250;
    this.maxBatch = options.maxBatch ?? 2000;
    this.maxBuffer = options.maxBuffer ?? 5000;
  }

  push = (event: WireEvent): void => {
    const t = roundMs(event.t);
    let stamped: WireEvent;
    if (isKeyEvent(event)) {
      this.lastKeyT = Math.max(this.lastKeyT, t);
      stamped = { ...event, t: this.lastKeyT };
    } else {
      this.lastMouseT = Math.max(this.lastMouseT, t);
      stamped = { ...event, t: this.lastMouseT };
    }
    this.buffer.push(stamped);
    if (this.buffer.length > this.maxBuffer) {
      const excess = this.buffer.length - this.maxBuffer;
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
  };

  /** Send what is buffered now (in chunks of at most `maxBatch`). */
  flush = (): void => {
    if (this.buffer.length === 0 || !this.canSend()) return;
    while (this.buffer.length > 0) {
      const chunk = this.buffer.splice(0, this.maxBatch);
      this.sent += chunk.length;
      this.send(chunk);
    }
  };

  /** Forget buffered events (e.g. when a session is challenged: that span is not scored). */
  clear = (): void => {
    this.buffer = [];
  };

  get pending(): number {
    return this.buffer.length;
  }

  start(): void {
    if (this.timer === null) this.timer = setInterval(this.flush, this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
