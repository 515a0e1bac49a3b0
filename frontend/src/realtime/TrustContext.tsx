import {
  INITIAL_SNAPSHOT,
  start,
  type Capture,
  type CaptureStats,
  type TrustChannel,
  type TrustSnapshot,
} from "@bbauth/capture";
import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { useAuth } from "../auth/AuthContext";
import { useDpopKey } from "../auth/DpopContext";
import { proofOf } from "../auth/dpop";
import { ConsentProvider, useConsent } from "../privacy/ConsentContext";
import { ConsentStep } from "../privacy/ConsentStep";
import { useSocketFactory } from "./useSocketFactory";

/** What the pages show of capture. */
export type CaptureView = Pick<CaptureStats, "active" | "sent">;

export interface TrustValue extends TrustSnapshot {
  channel: TrustChannel | null;
  capture: CaptureView;
}

const TrustContext = createContext<TrustValue | null>(null);

const noChannel = {
  subscribe: () => () => undefined,
  getSnapshot: () => INITIAL_SNAPSHOT,
};

const IDLE: CaptureView = { active: false, sent: 0 };

/**
 * While someone is signed in: their consent to behavioural capture (the consent step), and once
 * it is recorded, the live trust channel.
 */
export function TrustProvider({ children }: { children: ReactNode }) {
  return (
    <ConsentProvider>
      <LiveTrust>{children}</LiveTrust>
      <ConsentStep />
    </ConsentProvider>
  );
}

/**
 * Once the person has consented: the capture SDK runs for their session (one live channel,
 * capture of their typing and pointer behaviour on every page, never of secrets, paused while the
 * tab is hidden or a re-challenge is open). Without consent nothing is captured and no channel
 * is open. The app draws its own re-challenge dialog, so the SDK's overlay is off.
 */
function LiveTrust({ children }: { children: ReactNode }) {
  const factory = useSocketFactory();
  const dpop = useDpopKey();
  const { session, challenged, setChallenged, endSession } = useAuth();
  const { consented } = useConsent();
  const token = consented ? (session?.token ?? null) : null;
  const [capture, setCapture] = useState<Capture | null>(null);
  const [stats, setStats] = useState<CaptureView>(IDLE);

  useEffect(() => {
    if (!token) return;
    const next = start({ token, dpop: proofOf(dpop), socketFactory: factory, overlay: false });
    const off = [
      next.on("ended", endSession),
      next.on("challenged", () => setChallenged(true)),
      next.on("restored", () => setChallenged(false)),
    ];
    setCapture(next);
    // The counter for the UI moves once a second, not once per batch.
    const read = () => setStats((was) => sameStats(was, next.stats) ?? { active: next.stats.active, sent: next.stats.sent });
    read();
    const tick = setInterval(read, 1000);
    const offChange = next.on("change", read);
    return () => {
      clearInterval(tick);
      offChange();
      for (const stop of off) stop();
      next.stop();
      setCapture(null);
      setStats(IDLE);
    };
  }, [token, factory, dpop, endSession, setChallenged]);

  const channel = capture?.channel ?? null;
  // A REST call can learn of the challenge first (401 reauth_required), and the dialog can
  // clear it: keep the channel in step so input pauses and resumes.
  useEffect(() => {
    if (!channel) return;
    if (challenged) channel.markChallenged();
    else channel.markRestored();
  }, [channel, challenged]);

  const store = channel ?? noChannel;
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const value = useMemo<TrustValue>(() => ({ ...snapshot, channel, capture: stats }), [snapshot, channel, stats]);
  return <TrustContext.Provider value={value}>{children}</TrustContext.Provider>;
}

/** `was` when `now` shows the same, so React skips a render. */
function sameStats(was: CaptureView, now: CaptureStats): CaptureView | null {
  return was.active === now.active && was.sent === now.sent ? was : null;
}

export function useTrust(): TrustValue {
  const value = useContext(TrustContext);
  if (!value) throw new Error("useTrust outside TrustProvider");
  return value;
}
