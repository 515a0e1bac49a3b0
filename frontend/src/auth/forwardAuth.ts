/**
 * The sign-in portal of apps bbauth guards behind a reverse proxy (forward-auth). A proxy sends
 * a person here with `?rd=<the app's URL>`; once they are signed in (and have answered any code
 * the session owes), the app gets the forward-auth cookie and goes back. The server checks the
 * URL (only guarded origins, a plain path): this code never navigates anywhere it did not
 * confirm.
 */
import { api, ApiError } from "../api/client";
import type { ForwardAuthCookie } from "../api/types";

const KEY = "bbauth.forwardAuthReturn";

/** Keep `rd` of the page's query for after sign-in (the login page drops the query). */
export function rememberReturn(search: string, storage: Storage = window.sessionStorage): void {
  const returnTo = new URLSearchParams(search).get("rd");
  if (returnTo) storage.setItem(KEY, returnTo);
}

/** The guarded app's URL waiting for this tab, if any. */
export function pendingReturn(storage: Storage = window.sessionStorage): string | null {
  return storage.getItem(KEY);
}

/**
 * Get the cookie for the waiting URL and go there (`go`: the navigation). A refused URL (not a
 * guarded app, a declined code) is forgotten; a challenged session's waits for its code.
 */
export async function returnToGuardedApp(
  go: (url: string) => void = (url) => window.location.assign(url),
  storage: Storage = window.sessionStorage,
): Promise<boolean> {
  const returnTo = pendingReturn(storage);
  if (!returnTo) return false;
  storage.removeItem(KEY);
  try {
    const issued = await api.post<ForwardAuthCookie>("/api/forward-auth/cookie", { return_to: returnTo });
    if (!issued.return_to) return false;
    go(issued.return_to);
    return true;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // A challenged session answers its code first (the re-challenge dialog), then goes back.
    if (err.code === "reauth_required") storage.setItem(KEY, returnTo);
    return false; // a refused URL, a declined code: stay in the web app
  }
}
