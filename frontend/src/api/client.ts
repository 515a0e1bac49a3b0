import { SESSION_LOST_CODES, sessionLostMessage } from "@bbauth/capture";
import { DpopUnavailable, type DpopProofs } from "../auth/dpop";
import type { Challenge, Problem } from "./types";

/** An API error: HTTP status, the problem's machine-readable `code` and a sentence for people. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly retryAfter: number | null;
  /** The whole problem body, with its extension members (challenge, attempts_left, errors…). */
  readonly problem: Problem;

  constructor(status: number, problem: Problem, retryAfter: number | null = null) {
    const detail = problem.detail || problem.title || `Request failed (${status})`;
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code || "error";
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.problem = problem;
  }

  /** The message of a field refused by validation ("password" for `body.password`), if any. */
  fieldError(name: string): string | null {
    const found = this.problem.errors?.find((e) => e.field === `body.${name}` || e.field === name);
    return found?.message ?? null;
  }
}

/** The code of the error thrown when the person declined the step-up an operation needed. */
export const STEP_UP_CANCELLED = "step_up_cancelled";

export interface ApiHooks {
  /** The session token of the signed-in person, if any. */
  getToken: () => string | null;
  /** Proofs of the key the token is bound to (DPoP); none: requests go without. */
  dpop: DpopProofs | null;
  /** The session ended (revoked, expired, unknown token). */
  onSessionLost: (message: string) => void;
  /** The session is challenged: every call but the re-challenge ones answers 401 reauth_required. */
  onReauthRequired: () => void;
  /**
   * The operation needs a fresh one-time code on this session (401 step_up_required): ask the
   * person for it. Resolves true once the session stepped up (the request is then sent again),
   * false if they declined.
   */
  onStepUpRequired: (challenge: Challenge | null, reason?: string) => Promise<boolean>;
}

let hooks: ApiHooks = {
  getToken: () => null,
  dpop: null,
  onSessionLost: () => undefined,
  onReauthRequired: () => undefined,
  onStepUpRequired: async () => false,
};

export function configureApi(next: Partial<ApiHooks>): void {
  hooks = { ...hooks, ...next };
}

export interface RequestOptions {
  body?: unknown;
  /** Send the session token with a DPoP proof (default) and react to session-level 401s. */
  auth?: boolean;
  /**
   * Make the tab a new DPoP key and send a proof of it: the token this request answers is
   * bound to that key (the code step of sign-in and sign-up).
   */
  bindKey?: boolean;
  /** Why the operation needs a fresh code, should it answer step_up_required (the dialog says it). */
  stepUpReason?: string;
  signal?: AbortSignal;
}

interface Answer {
  data: unknown;
  error: ApiError | null;
  /** The token the request carried (session-level 401s only concern requests with one). */
  token: string | null;
}

/** The DPoP header of a request: a proof of a new key, or of the session's key for `token`. */
async function proofFor(method: string, path: string, token: string | null, bindKey: boolean): Promise<string | null> {
  const { dpop } = hooks;
  if (!dpop || (!token && !bindKey)) return null;
  try {
    return bindKey ? await dpop.bind(method, path) : await dpop.proof(method, path, token);
  } catch (err) {
    const detail = err instanceof DpopUnavailable ? err.message : "This browser could not sign the request. Try again.";
    throw new ApiError(0, { code: "dpop_unavailable", detail });
  }
}

async function send(method: string, path: string, options: RequestOptions): Promise<Answer> {
  const { body, auth = true, bindKey = false, signal } = options;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = auth ? hooks.getToken() : null;
  const proof = await proofFor(method, path, token, bindKey);
  if (proof) headers.DPoP = proof;
  // RFC 9449: a token bound to a key goes under the DPoP scheme.
  if (token) headers.Authorization = `${proof ? "DPoP" : "Bearer"} ${token}`;

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, { code: "network_error", detail: "The server cannot be reached. Check the connection." });
  }

  hooks.dpop?.observeServerDate(response.headers.get("Date"));
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return { data, error: null, token };
  const problem: Problem = data && typeof data === "object" ? (data as Problem) : {};
  const retry = Number(response.headers.get("Retry-After"));
  const error = new ApiError(response.status, problem, Number.isFinite(retry) && retry > 0 ? retry : null);
  return { data, error, token };
}

/**
 * One API call. Session-level 401s go to the hooks: a lost session signs the person out, a
 * re-challenge blocks the page, and a step-up asks for a code and then sends the same request
 * once more.
 */
export async function apiRequest<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  let { data, error, token } = await send(method, path, options);
  if (error?.status === 401 && token && error.code === "step_up_required") {
    const steppedUp = await hooks.onStepUpRequired(error.problem.challenge ?? null, options.stepUpReason);
    if (!steppedUp) {
      throw new ApiError(401, {
        code: STEP_UP_CANCELLED,
        detail: "Nothing was changed: this needs a one-time code first.",
      });
    }
    ({ data, error, token } = await send(method, path, options));
  }
  if (!error) return data as T;
  if (error.status === 401 && token) {
    if (error.code === "reauth_required") hooks.onReauthRequired();
    else if (SESSION_LOST_CODES.has(error.code)) hooks.onSessionLost(sessionLostMessage(error.code, error.detail));
  }
  throw error;
}

/**
 * Ask for a fresh code now, with no operation held back (learning that waits for a verified
 * session): the step-up dialog opens and sends the code. Resolves true once it was entered.
 */
export function askForStepUp(reason?: string): Promise<boolean> {
  return hooks.onStepUpRequired(null, reason);
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => apiRequest<T>("GET", path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    apiRequest<T>("POST", path, { ...options, body: body ?? {} }),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => apiRequest<T>("PATCH", path, { ...options, body }),
  delete: <T>(path: string, options?: RequestOptions) => apiRequest<T>("DELETE", path, options),
};
