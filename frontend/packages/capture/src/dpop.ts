/**
 * A DPoP proof (RFC 9449) of the key the session's token is bound to, for one request: `url` is
 * the request's absolute URL (its `htu`); `token` goes into `ath`. Null when no key is held (the
 * server then refuses the token and says why).
 */
export type DpopProof = (method: string, url: string, token: string) => Promise<string | null>;

/**
 * The session's token, or a function that gives a current one (a guarded app's channel
 * credential, renewed before it expires), asked afresh before every connect and REST call.
 */
export type TokenSource = string | (() => Promise<string>);

/** The token `source` stands for now ('' when it cannot be had: the server then says why). */
export function currentToken(source: TokenSource): Promise<string> {
  return typeof source === "string" ? Promise.resolve(source) : source().catch(() => "");
}

/** `path` (on bbauth's origin, or the page's when that is empty) as an absolute URL. */
export function absoluteUrl(origin: string, path: string): string {
  return new URL(`${origin}${path}`, globalThis.location?.href).href;
}
