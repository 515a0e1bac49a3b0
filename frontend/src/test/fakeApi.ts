import { vi } from "vitest";

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
type Route = (body: unknown, headers: Record<string, string>) => Answer;

/** The consent of a person who agreed to behavioural capture (the people of most tests). */
export const CONSENTED = {
  consented: true,
  current_version: "2026-12-06",
  given_at: "2026-12-06T04:00:00Z",
  history: [{ version: "2026-12-06", given_at: "2026-12-06T04:00:00Z", withdrawn_at: null }],
};

/** The consent of a person who has not agreed (or withdrew). */
export const NOT_CONSENTED = { consented: false, current_version: "2026-12-06", given_at: null, history: [] };

/** A fetch stand-in answering per "METHOD /path"; records every call. Unless a test says
 * otherwise, the person has consented to behavioural capture. */
export function fakeApi(given: Record<string, Route | Answer>) {
  const routes: Record<string, Route | Answer> = { "GET /api/privacy/consent": { status: 200, body: CONSENTED }, ...given };
  const calls: { method: string; path: string; body: unknown; headers: Record<string, string> }[] = [];
  const fetchMock = vi.fn(async (path: string, init: RequestInit = {}) => {
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ method, path, body, headers });
    const route = routes[`${method} ${path}`];
    if (!route) return new Response(JSON.stringify({ code: "not_found" }), { status: 404 });
    const answer = typeof route === "function" ? route(body, headers) : route;
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export const ALICE = {
  id: "u-alice",
  email: "alice@example.com",
  display_name: "Alice",
  role: "user",
  totp_enabled: false,
};

export const ADMIN = { ...ALICE, id: "u-admin", email: "root@example.com", role: "admin" };

export function tokenResponse(user = ALICE) {
  return {
    token: "tok-123",
    token_type: "Bearer",
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    session: { id: "s1", user_id: user.id, state: "active" },
    user,
  };
}

/** Put a signed-in session in sessionStorage, as after a login. */
export function signedIn(user = ALICE) {
  sessionStorage.setItem(
    "bbauth.session",
    JSON.stringify({ token: "tok-123", expiresAt: new Date(Date.now() + 3600_000).toISOString(), user }),
  );
}

/** The server's answer to a request without a token, as bbauth gives it. */
export const NO_TOKEN: Answer = {
  status: 401,
  body: { type: "urn:bbauth:problem:unauthorized", title: "Authentication required", status: 401, detail: "A bearer token is required.", code: "unauthorized" },
};

/** `answer` to requests that carry a session token, `NO_TOKEN` to the others (as the server). */
export function withToken(answer: Answer): Route {
  return (_body, headers) => (headers.Authorization ? answer : NO_TOKEN);
}

/** Answers in turn, the last one for ever after: `inTurn(stepUpRequired(), ok)`. */
export function inTurn(...answers: Answer[]): Route {
  let calls = 0;
  return () => answers[Math.min(calls++, answers.length - 1)];
}

export const STEP_UP_CHALLENGE = {
  challenge_id: null,
  channel: "email",
  purpose: "step_up",
  destination: "a***e@example.com",
  expires_at: new Date(Date.now() + 300_000).toISOString(),
  resends_left: 3,
  attempts_left: 5,
};

/** The 401 of an operation that needs a fresh one-time code on this session. */
export function stepUpRequired(challenge: Record<string, unknown> = STEP_UP_CHALLENGE): Answer {
  return {
    status: 401,
    body: {
      code: "step_up_required",
      detail: "Enter a one-time code first (sent to a***e@example.com); then try again.",
      challenge,
      max_age: 300,
    },
  };
}
