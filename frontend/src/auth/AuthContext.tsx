import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, ApiError, configureApi } from "../api/client";
import type { TokenResponse, User } from "../api/types";
import { navigate } from "../routing/router";
import { useDpopKey } from "./DpopContext";
import { clearSession, loadSession, saveSession, type StoredSession } from "./storage";

export interface Notice {
  severity: "info" | "success" | "warning" | "error";
  message: string;
}

export interface AuthValue {
  session: StoredSession | null;
  user: User | null;
  /** The session must answer a fresh one-time code before anything else. */
  challenged: boolean;
  /** A message for the login page (why the person was signed out). */
  notice: Notice | null;
  completeLogin: (response: TokenResponse) => void;
  logout: () => Promise<void>;
  /** The session is over (revoked, expired): forget it and go to the login page. */
  endSession: (message: string) => void;
  setChallenged: (challenged: boolean) => void;
  updateUser: (user: User) => void;
  clearNotice: () => void;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const dpop = useDpopKey();
  const [session, setSession] = useState<StoredSession | null>(() => loadSession());
  const [challenged, setChallenged] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const endSession = useCallback(
    (message: string) => {
      if (!sessionRef.current) return;
      clearSession();
      void dpop.forget();
      sessionRef.current = null;
      setSession(null);
      setChallenged(false);
      setNotice({ severity: "warning", message });
      navigate("/login", { replace: true });
    },
    [dpop],
  );

  const hooks = useMemo(
    () => ({
      getToken: () => sessionRef.current?.token ?? null,
      dpop,
      onSessionLost: endSession,
      onReauthRequired: () => setChallenged(true),
    }),
    [dpop, endSession],
  );
  // Configured while rendering, not in an effect: the pages' effects run before this
  // component's, and their first requests need the token and its key already.
  const configured = useRef<typeof hooks | null>(null);
  if (configured.current !== hooks) {
    configureApi(hooks);
    configured.current = hooks;
  }

  // A token kept from before a reload may have died meanwhile; /me tells (and refreshes the user).
  useEffect(() => {
    if (!sessionRef.current) return;
    const controller = new AbortController();
    api
      .get<User>("/api/auth/me", { signal: controller.signal })
      .then((user) => {
        const current = sessionRef.current;
        if (current) {
          const next = { ...current, user };
          saveSession(next);
          setSession(next);
        }
      })
      .catch((err: unknown) => {
        if (!(err instanceof ApiError)) return; // aborted; or the hooks already acted on a 401
      });
    return () => controller.abort();
  }, []);

  const completeLogin = useCallback((response: TokenResponse) => {
    const next: StoredSession = { token: response.token, expiresAt: response.expires_at, user: response.user };
    saveSession(next);
    sessionRef.current = next;
    setSession(next);
    setChallenged(response.session?.state === "challenged");
    setNotice(null);
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.post("/api/auth/logout");
    } catch {
      // Signing out locally is what matters; the token and its key are dropped either way.
    }
    clearSession();
    await dpop.forget();
    sessionRef.current = null;
    setSession(null);
    setChallenged(false);
    setNotice({ severity: "info", message: "You are signed out." });
    navigate("/login", { replace: true });
  }, [dpop]);

  const updateUser = useCallback((user: User) => {
    const current = sessionRef.current;
    if (!current) return;
    const next = { ...current, user };
    saveSession(next);
    sessionRef.current = next;
    setSession(next);
  }, []);

  const value = useMemo<AuthValue>(
    () => ({
      session,
      user: session?.user ?? null,
      challenged,
      notice,
      completeLogin,
      logout,
      endSession,
      setChallenged,
      updateUser,
      clearNotice: () => setNotice(null),
    }),
    [session, challenged, notice, completeLogin, logout, endSession, updateUser],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
