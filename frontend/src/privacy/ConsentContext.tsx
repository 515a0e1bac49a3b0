import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api } from "../api/client";
import type { ConsentStatus } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { CONSENT_VERSION } from "./consentText";

export interface ConsentValue {
  /** The server's answer (null: not read yet, or it could not be read). */
  status: ConsentStatus | null;
  /** Whether capture may run: true only once the server has recorded consent. */
  consented: boolean;
  /** The person chose "Not now" in this tab: the consent step is not shown again here. */
  deferred: boolean;
  give: () => Promise<void>;
  /** Withdraw (needs a fresh code: the step-up dialog asks for it). */
  withdraw: () => Promise<void>;
  defer: () => void;
  refresh: () => Promise<void>;
}

const ConsentContext = createContext<ConsentValue | null>(null);
const DEFERRED_KEY = "bbauth.consent-deferred";

/** The signed-in person's consent to behavioural capture, read from and recorded by the server. */
export function ConsentProvider({ children }: { children: ReactNode }) {
  const { session } = useAuth();
  const token = session?.token ?? null;
  const [status, setStatus] = useState<ConsentStatus | null>(null);
  const [deferred, setDeferred] = useState(() => sessionStorage.getItem(DEFERRED_KEY) === "1");

  const refresh = useCallback(async () => {
    try {
      setStatus(await api.get<ConsentStatus>("/api/privacy/consent"));
    } catch {
      setStatus(null); // unknown: capture stays off, nothing is asked
    }
  }, []);
  useEffect(() => {
    setStatus(null);
    if (token) void refresh();
  }, [token, refresh]);

  const give = useCallback(async () => {
    setStatus(await api.post<ConsentStatus>("/api/privacy/consent", { version: CONSENT_VERSION }));
  }, []);
  const withdraw = useCallback(async () => {
    const answer = await api.delete<ConsentStatus>("/api/privacy/consent", {
      stepUpReason: "Withdrawing consent turns behavioural checking off for every session of your account.",
    });
    sessionStorage.setItem(DEFERRED_KEY, "1");
    setDeferred(true);
    setStatus(answer);
  }, []);
  const defer = useCallback(() => {
    sessionStorage.setItem(DEFERRED_KEY, "1");
    setDeferred(true);
  }, []);

  const value = useMemo<ConsentValue>(
    () => ({ status, consented: status?.consented === true, deferred, give, withdraw, defer, refresh }),
    [status, deferred, give, withdraw, defer, refresh],
  );
  return <ConsentContext.Provider value={value}>{children}</ConsentContext.Provider>;
}

export function useConsent(): ConsentValue {
  const value = useContext(ConsentContext);
  if (!value) throw new Error("useConsent outside ConsentProvider");
  return value;
}
