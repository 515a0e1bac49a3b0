import type { User } from "../api/types";

/**
 * The session token lives in sessionStorage: it dies with the tab and is not shared with other
 * tabs, unlike localStorage.
 */
export const STORAGE_KEY = "bbauth.session";

export interface StoredSession {
  token: string;
  expiresAt: string;
  user: User;
}

export function loadSession(storage: Storage = sessionStorage, nowMs: number = Date.now()): StoredSession | null {
  try {
    const raw = storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as StoredSession;
    if (!value?.token || !value.user) return null;
    if (value.expiresAt && Date.parse(value.expiresAt) <= nowMs) {
      storage.removeItem(STORAGE_KEY);
      return null;
    }
    return value;
  } catch {
    return null;
  }
}

export function saveSession(session: StoredSession, storage: Storage = sessionStorage): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(storage: Storage = sessionStorage): void {
  storage.removeItem(STORAGE_KEY);
}
