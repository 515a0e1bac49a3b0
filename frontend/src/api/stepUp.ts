import type { Challenge } from "./types";

export interface StepUpSnapshot {
  /** A request waits for the person to enter a code. */
  open: boolean;
  /** The challenge to answer (null until known). */
  challenge: Challenge | null;
  /** Why a code is needed, when the operation said (null: a change to the account's protection). */
  reason: string | null;
}

const CLOSED: StepUpSnapshot = { open: false, challenge: null, reason: null };

/**
 * The question "enter a fresh code" that requests needing a step-up wait on: `ask` opens it
 * (requests arriving while it is open share the same answer), `settle` answers it. A plain
 * class read through `useSyncExternalStore`, like the trust channel.
 */
export class StepUpPrompt {
  private snapshot: StepUpSnapshot = CLOSED;
  private listeners = new Set<() => void>();
  private answer: Promise<boolean> | null = null;
  private resolve: ((steppedUp: boolean) => void) | null = null;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): StepUpSnapshot => this.snapshot;

  private update(next: StepUpSnapshot): void {
    this.snapshot = next;
    for (const listener of this.listeners) listener();
  }

  /** Resolves true once the session stepped up, false if the person declined. */
  ask = (challenge: Challenge | null, reason?: string): Promise<boolean> => {
    if (this.answer) {
      if (challenge && !this.snapshot.challenge) this.update({ ...this.snapshot, challenge });
      return this.answer;
    }
    this.answer = new Promise<boolean>((resolve) => {
      this.resolve = resolve;
    });
    this.update({ open: true, challenge, reason: reason ?? null });
    return this.answer;
  };

  /** A new code went out (resend, or a fresh challenge after the old one closed). */
  showChallenge(challenge: Challenge): void {
    if (this.snapshot.open) this.update({ ...this.snapshot, challenge });
  }

  settle(steppedUp: boolean): void {
    const resolve = this.resolve;
    this.answer = null;
    this.resolve = null;
    if (this.snapshot.open) this.update(CLOSED);
    resolve?.(steppedUp);
  }
}
