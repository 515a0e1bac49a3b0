/**
 * A value React reads through `useSyncExternalStore`: `subscribe` and `getSnapshot` for React,
 * `update` for the owner (a new snapshot object per change, then every listener is told).
 */
export class SnapshotStore<T extends object> {
  private listeners = new Set<() => void>();

  constructor(protected snapshot: T) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): T => this.snapshot;

  protected update(patch: Partial<T>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }
}
