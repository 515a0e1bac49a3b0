/**
 * A DPoP proof (RFC 9449) of the key the session's token is bound to, for one request: `url` is
 * the request's absolute URL (its `htu`); `token` goes into `ath`. Null when no key is held (the
 * server then refuses the token and says why).
 */
export type DpopProof = (method: string, url: string, token: string) => Promise<string | null>;

/** `path` (on bbauth's origin, or the page's when that is empty) as an absolute URL. */
export function absoluteUrl(origin: string, path: string): string {
  return new URL(`${origin}${path}`, globalThis.location?.href).href;
}
