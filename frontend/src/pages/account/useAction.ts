import { useCallback, useState } from "react";
import { errorMessage } from "../../api/messages";

export interface Action {
  busy: boolean;
  /** What went wrong with the last run, in words. */
  error: string | null;
  /** What the last run achieved, in words. */
  done: string | null;
  /** Run `work`; its answer (a sentence) becomes `done`, its failure `error`. */
  run: (work: () => Promise<string | void>) => Promise<void>;
  reset: () => void;
}

/** The busy / error / done state of a card's form. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const run = useCallback(async (work: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone((await work()) ?? null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }, []);

  const reset = useCallback(() => {
    setError(null);
    setDone(null);
  }, []);

  return { busy, error, done, run, reset };
}
