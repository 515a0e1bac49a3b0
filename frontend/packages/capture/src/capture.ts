import { EventBatcher } from "./batcher";
import { TrustChannel, type TrustSnapshot } from "./channel";
import type { DpopProof, TokenSource } from "./dpop";
import { now as performanceNow } from "./events";
import { captureKeys } from "./keyboard";
import { captureMouse } from "./mouse";
import { ReauthOverlay } from "./overlay";
import { ReauthApi } from "./rest";
import type { SocketFactory } from "./socket";
import type { ChallengeCause, TrustView } from "./types";

export interface StartOptions {
  /** The session's token (what sign-in answered), or a function giving a current one. */
  token: TokenSource;
  /** Signs a DPoP proof of the key the token is bound to; without it the token goes alone. */
  dpop?: DpopProof | null;
  /** bbauth's origin when it is not the page's ("https://bbauth.example"). */
  origin?: string;
  /** Draw the SDK's own re-challenge dialog (default true; false when the page has its own). */
  overlay?: boolean;
  /** Makes the re-challenge's REST calls (the page's `fetch` by default). */
  fetch?: typeof fetch;
  /** Where input is captured: the whole document by default. */
  target?: Document | HTMLElement;
  /** Opens the socket: socket.io-client's `io` by default. */
  socketFactory?: SocketFactory;
  /** Clock of captured events, ms (`performance.now()` by default). */
  now?: () => number;
  /** Clock of trust's arrival, ms since the epoch (`Date.now()` by default). */
  wallClock?: () => number;
  /** Batch period, ms (250). */
  intervalMs?: number;
  /** Shortest gap between two recorded pointer moves, ms (16). */
  throttleMs?: number;
}

/** What a page can follow, and what each listener is given. */
export interface CaptureEvents {
  /** A new trust score (after every scored window, at connect, after a re-challenge). */
  trust: TrustView;
  /** Every change of the live channel's state, and capture pausing or resuming. */
  change: TrustSnapshot;
  /** The session was challenged: input pauses until a fresh code is entered. */
  challenged: ChallengeCause | null;
  /** The re-challenge was answered. */
  restored: undefined;
  /** The session ended (revoked, expired, the key lost): why, for people. */
  ended: string;
}

export type CaptureEventName = keyof CaptureEvents;
export type CaptureListener<K extends CaptureEventName> = (payload: CaptureEvents[K]) => void;

export interface CaptureStats {
  /** Input is being captured now (running, tab visible, not challenged). */
  active: boolean;
  /** Events handed to the socket so far. */
  sent: number;
  /** Events dropped because the buffer overflowed while they could not be sent. */
  dropped: number;
}

/**
 * Capture of one session: keyboard and pointer input of the page (never of secrets), batched
 * every 250 ms onto the live channel; paused while the tab is hidden or the session is
 * challenged (that span is neither scored nor learned from, so its buffer is forgotten).
 */
export class Capture {
  readonly channel: TrustChannel;
  private readonly batcher: EventBatcher;
  private readonly overlay: ReauthOverlay | null;
  private readonly doc: Document;
  private readonly target: Document | HTMLElement;
  private readonly listeners: { [K in CaptureEventName]: Set<CaptureListener<K>> } = {
    trust: new Set(),
    change: new Set(),
    challenged: new Set(),
    restored: new Set(),
    ended: new Set(),
  };
  private stopListening: (() => void) | null = null;
  private running = true;
  private lastTrust: TrustView | null = null;
  private readonly unsubscribe: () => void;
  private readonly options: StartOptions;

  constructor(options: StartOptions) {
    this.options = options;
    this.target = options.target ?? document;
    this.doc = this.target instanceof Document ? this.target : this.target.ownerDocument;
    this.channel = new TrustChannel({
      token: options.token,
      dpop: options.dpop ?? null,
      origin: options.origin ?? "",
      ...(options.socketFactory ? { factory: options.socketFactory } : {}),
      ...(options.wallClock ? { now: options.wallClock } : {}),
      onSessionLost: (message) => {
        this.emit("ended", message);
        this.stop(); // the token opens nothing any more: nothing is captured for it
      },
      onChallenged: () => this.emit("challenged", this.channel.getSnapshot().challengeCause),
      onRestored: () => this.emit("restored", undefined),
    });
    this.batcher = new EventBatcher({
      send: this.channel.sendInput,
      canSend: this.channel.canSend,
      intervalMs: options.intervalMs ?? 250,
    });
    this.overlay =
      options.overlay === false
        ? null
        : new ReauthOverlay(this.channel, new ReauthApi({ token: options.token, dpop: options.dpop, origin: options.origin, fetch: options.fetch }), this.doc);
    this.unsubscribe = this.channel.subscribe(this.onChange);
    this.doc.addEventListener("visibilitychange", this.onVisibility);
    this.batcher.start();
    this.channel.open();
    this.sync();
  }

  /** Follow `event`; returns the function that stops following it. */
  on<K extends CaptureEventName>(event: K, listener: CaptureListener<K>): () => void {
    this.listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  off<K extends CaptureEventName>(event: K, listener: CaptureListener<K>): void {
    this.listeners[event].delete(listener);
  }

  /** The live channel's state now (trust, challenge, enrollment, connection). */
  get state(): TrustSnapshot {
    return this.channel.getSnapshot();
  }

  get stats(): CaptureStats {
    return { active: this.stopListening !== null, sent: this.batcher.sent, dropped: this.batcher.dropped };
  }

  /** Send what was captured, stop capturing, close the socket and remove the overlay. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.sync();
    this.batcher.flush();
    this.batcher.stop();
    this.doc.removeEventListener("visibilitychange", this.onVisibility);
    this.unsubscribe();
    this.overlay?.destroy();
    this.channel.close();
  }

  private emit<K extends CaptureEventName>(event: K, payload: CaptureEvents[K]): void {
    for (const listener of [...this.listeners[event]]) listener(payload);
  }

  private onChange = (): void => {
    const snapshot = this.channel.getSnapshot();
    this.sync();
    if (snapshot.trust && snapshot.trust !== this.lastTrust) {
      this.lastTrust = snapshot.trust;
      this.emit("trust", snapshot.trust);
    }
    this.emit("change", snapshot);
  };

  private onVisibility = (): void => {
    if (this.sync()) this.emit("change", this.channel.getSnapshot());
  };

  /** Listen exactly while running, visible and not challenged; true when that just changed. */
  private sync = (): boolean => {
    const visible = this.doc.visibilityState !== "hidden";
    const { challenged } = this.channel.getSnapshot();
    const active = this.running && visible && !challenged;
    const changed = active !== (this.stopListening !== null);
    if (active && !this.stopListening) {
      const clock = { target: this.target, now: this.options.now ?? performanceNow };
      const keys = captureKeys(this.batcher.push, clock);
      const mouse = captureMouse(this.batcher.push, { ...clock, throttleMs: this.options.throttleMs ?? 16 });
      this.stopListening = () => {
        keys();
        mouse();
      };
    } else if (!active && this.stopListening) {
      this.stopListening();
      this.stopListening = null;
    }
    if (!visible) this.batcher.flush(); // what was typed before the tab was hidden still counts
    if (challenged) this.batcher.clear(); // a challenged span is neither scored nor learned from
    return changed;
  };
}

/** Start capturing for a signed-in session (see {@link StartOptions}). */
export function start(options: StartOptions): Capture {
  return new Capture(options);
}
