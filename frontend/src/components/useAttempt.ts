import { useCallback, useState } from "react";
import { errorMessage } from "../api/messages";

/** The busy / error state of a dialog's or form's requests. */
export interface Attempt {
  busy: boolean;
  /** Why the last attempt failed, in words. */
  error: string | null;
  setError: (error: string | null) => void;
  /**
   * Runs `work` with `busy` set and `error` cleared; a failure goes to `failed` (by default its
   * message becomes `error`), and `busy` clears once both are done.
   */
  attempt: (work: () => Promise<void>, failed?: (err: unknown) => void | Promise<void>) => Promise<void>;
}

/** Busy while a request runs, with why the last one failed. */
export function useAttempt(): Attempt {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const attempt = useCallback(async (work: () => Promise<void>, failed?: (err: unknown) => void | Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (err) {
      if (failed) await failed(err);
      else setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }, []);

  return { busy, error, setError, attempt };
}
