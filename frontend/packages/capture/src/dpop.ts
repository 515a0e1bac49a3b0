/**
 * A DPoP proof (RFC 9449) of the key the session's token is bound to, for one request: `url` is
 * a path on the page's origin or absolute; `token` goes into `ath`. Null when no key is held
 * (the server then refuses the token and says why).
 */
export type DpopProof = (method: string, url: string, token: string) => Promise<string | null>;
