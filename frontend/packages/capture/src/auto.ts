import { type Capture, start } from "./capture";

/** The attribute that asks the script to start by itself: `<script src="/sdk/capture.js" data-bbauth-auto>`. */
export const AUTO_ATTR = "data-bbauth-auto";

/** Where a guarded app's page trades its forward-auth cookie for a channel credential. */
export const CHANNEL_PATH = "/api/forward-auth/channel";

/** A credential is renewed this long before it expires, ms. */
const RENEW_MARGIN_MS = 60_000;

/**
 * Channel credentials of the page's session, as a token source: each is asked of bbauth on the
 * page's own origin with the HttpOnly forward-auth cookie (the page never sees the cookie nor the
 * session's token), kept until a minute before it expires, then asked again. A refusal (the
 * session ended) gives '' and the server's refusal of the connect ends the capture.
 */
export function channelCredentials(
  send: typeof fetch = globalThis.fetch.bind(globalThis),
  now: () => number = Date.now,
): () => Promise<string> {
  let held: { token: string; until: number } | null = null;
  return async () => {
    if (held && now() < held.until) return held.token;
    held = null;
    const response = await send(CHANNEL_PATH, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`channel credential refused (${response.status})`);
    const body = (await response.json()) as { token: string; expires_in: number };
    held = { token: body.token, until: now() + Math.max(0, body.expires_in * 1000 - RENEW_MARGIN_MS) };
    return body.token;
  };
}

/**
 * Starts capture for the page when the script that loaded the SDK carries `data-bbauth-auto`
 * (a reverse proxy guarding an app injects it so); otherwise does nothing.
 */
export function autoStart(script: Element | null = globalThis.document?.currentScript ?? null): Capture | null {
  if (!script || !script.hasAttribute(AUTO_ATTR)) return null;
  return start({ token: channelCredentials() });
}
