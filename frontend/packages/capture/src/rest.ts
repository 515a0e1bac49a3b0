import type { components, operations } from "../../../src/contract/rest";
import { absoluteUrl, currentToken, type DpopProof, type TokenSource } from "./dpop";

/** The open re-challenge: where its code went and how many resends are left. */
export type ReauthChallenge =
  operations["get_auth_reauth_status"]["responses"][200]["content"]["application/json"];

/** An RFC 9457 problem as the server answers it (members may be missing from a proxy's answer). */
export type RestProblem = Partial<components["schemas"]["Problem"]>;

/** A refused REST call: its status and RFC 9457 problem (status 0: the server was not reached). */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: RestProblem,
  ) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.name = "ProblemError";
  }

  get code(): string {
    return this.problem.code || "error";
  }
}

export interface ReauthApiOptions {
  token: TokenSource;
  dpop?: DpopProof | null;
  /** bbauth's origin when it is not the page's; empty for the page's own. */
  origin?: string;
  fetch?: typeof fetch;
}

/** The three REST operations of a re-challenge, with the session's token and a proof per call. */
export class ReauthApi {
  constructor(private readonly options: ReauthApiOptions) {}

  /** The open challenge (409 when there is none: it was answered). */
  info(): Promise<ReauthChallenge> {
    return this.call<ReauthChallenge>("GET", "/api/auth/reauth");
  }

  resend(): Promise<ReauthChallenge> {
    return this.call<ReauthChallenge>("POST", "/api/auth/reauth/resend", {});
  }

  async verify(code: string): Promise<void> {
    await this.call("POST", "/api/auth/reauth/verify", { code });
  }

  /** WebAuthn options for answering the challenge with a passkey (when it offers one). */
  async passkeyOptions(): Promise<Record<string, unknown>> {
    const { options } = await this.call<{ options: Record<string, unknown> }>("POST", "/api/auth/reauth/passkey/options", {});
    return options;
  }

  /** Answer the challenge with the authenticator's signed assertion. */
  async passkeyVerify(credential: unknown): Promise<void> {
    await this.call("POST", "/api/auth/reauth/passkey/verify", { credential });
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { dpop = null, origin = "", fetch: send = globalThis.fetch.bind(globalThis) } = this.options;
    const token = await currentToken(this.options.token);
    const url = absoluteUrl(origin, path);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const proof = dpop ? await dpop(method, url, token).catch(() => null) : null;
    if (proof) headers.DPoP = proof;
    // RFC 9449: a token bound to a key goes under the DPoP scheme.
    headers.Authorization = `${proof ? "DPoP" : "Bearer"} ${token}`;
    let response: Response;
    try {
      response = await send(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
      });
    } catch {
      throw new ProblemError(0, { code: "network_error", detail: "The server cannot be reached. Check the connection." });
    }
    const data: unknown = await response.json().catch(() => null);
    if (response.ok) return data as T;
    throw new ProblemError(response.status, data && typeof data === "object" ? (data as RestProblem) : {});
  }
}

/** Why a one-time code was refused, in words (attempts left, or that it expired); `detail` else. */
export function codeErrorMessage(
  code: string,
  problem: Pick<RestProblem, "reason" | "attempts_left">,
  detail: string,
): string {
  if (code !== "invalid_code") return detail;
  if (problem.reason === "expired") return "That code has expired. Ask for a new one.";
  const left = problem.attempts_left;
  if (left === undefined) return "That code is wrong or has expired.";
  return `That code is wrong. ${left} ${left === 1 ? "try" : "tries"} left.`;
}
