import { useState } from "react";
import { api, ApiError } from "../../api/client";
import type { Challenge } from "../../api/types";

export interface ChallengeRequest {
  busy: boolean;
  /** The last failure (an `ApiError` carries field errors), or null. */
  error: unknown;
  problem: ApiError | null;
  /** POST `body` to `path`; its challenge goes to `onChallenge` after `onSent` (clear secrets). */
  send: (path: string, body: object, onSent: () => void) => Promise<void>;
}

/** A sign-in or sign-up form: posting it answers with a one-time-code challenge. */
export function useChallengeRequest(onChallenge: (challenge: Challenge) => void): ChallengeRequest {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const send = async (path: string, body: object, onSent: () => void) => {
    setBusy(true);
    setError(null);
    try {
      const challenge = await api.post<Challenge>(path, body, { auth: false });
      onSent();
      onChallenge(challenge);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return { busy, error, problem: error instanceof ApiError ? error : null, send };
}
