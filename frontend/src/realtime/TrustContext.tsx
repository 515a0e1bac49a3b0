import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { useAuth } from "../auth/AuthContext";
import { useDpopKey } from "../auth/DpopContext";
import { useBehaviorCapture, type CaptureStats } from "../capture/useBehaviorCapture";
import { INITIAL_SNAPSHOT, TrustChannel, type TrustSnapshot } from "./trustChannel";
import { useSocketFactory } from "./SocketFactoryContext";

export interface TrustValue extends TrustSnapshot {
  channel: TrustChannel | null;
  capture: CaptureStats;
}

const TrustContext = createContext<TrustValue | null>(null);

const noChannel = {
  subscribe: () => () => undefined,
  getSnapshot: () => INITIAL_SNAPSHOT,
};

/**
 * While someone is signed in: one live channel to the server, and capture of their typing and
 * pointer behaviour on every page (never of secrets; paused while the tab is hidden or a
 * re-challenge is open).
 */
export function TrustProvider({ children }: { children: ReactNode }) {
  const factory = useSocketFactory();
  const dpop = useDpopKey();
  const { session, challenged, setChallenged, endSession } = useAuth();
  const token = session?.token ?? null;
  const [channel, setChannel] = useState<TrustChannel | null>(null);

  useEffect(() => {
    if (!token) return;
    const next = new TrustChannel({
      token,
      factory,
      dpop,
      onSessionLost: endSession,
      onChallenged: () => setChallenged(true),
      onRestored: () => setChallenged(false),
    });
    next.open();
    setChannel(next);
    return () => {
      next.close();
      setChannel(null);
    };
  }, [token, factory, dpop, endSession, setChallenged]);

  // A REST call can learn of the challenge first (401 reauth_required), and the dialog can
  // clear it: keep the channel in step so input pauses and resumes.
  useEffect(() => {
    if (!channel) return;
    if (challenged) channel.markChallenged();
    else channel.markRestored();
  }, [channel, challenged]);

  const store = channel ?? noChannel;
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const capture = useBehaviorCapture(channel, Boolean(token) && !challenged && !snapshot.challenged);

  const value = useMemo<TrustValue>(() => ({ ...snapshot, channel, capture }), [snapshot, channel, capture]);
  return <TrustContext.Provider value={value}>{children}</TrustContext.Provider>;
}

export function useTrust(): TrustValue {
  const value = useContext(TrustContext);
  if (!value) throw new Error("useTrust outside TrustProvider");
  return value;
}
