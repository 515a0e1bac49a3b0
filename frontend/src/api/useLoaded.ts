import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "./messages";

/** What a card loaded from the API, and how to load it again. */
export interface Loaded<T> {
  /** The last answer; null until the first one arrives. */
  data: T | null;
  /** Why the last load failed, in words; null once a load succeeds or it is dismissed. */
  error: string | null;
  /** Loads again (a Refresh button, or after a change). */
  reload: () => Promise<void>;
  /** Hides `error` until the next load fails. */
  dismiss: () => void;
}

export interface LoadOptions {
  /** Loads only while true (e.g. while the person is an administrator); true by default. */
  enabled?: boolean;
  /** Loads again every so many ms while enabled; once only when absent. */
  everyMs?: number;
}

/**
 * Loads `fetcher`'s answer when the component mounts (and every `everyMs` ms, if given).
 * `fetcher` should be stable (defined outside the component): a new one loads again.
 */
export function useLoaded<T>(fetcher: () => Promise<T>, { enabled = true, everyMs }: LoadOptions = {}): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setData(await fetcher());
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [fetcher]);

  useEffect(() => {
    if (!enabled) return;
    void reload();
    if (everyMs === undefined) return;
    const timer = setInterval(() => void reload(), everyMs);
    return () => clearInterval(timer);
  }, [enabled, everyMs, reload]);

  const dismiss = useCallback(() => setError(null), []);
  return { data, error, reload, dismiss };
}
