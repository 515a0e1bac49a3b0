import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { accessTokenHash, testDpopKey, verifiedProof } from "../test/dpop";
import { stepUpRequired } from "../test/fakeApi";
import { api, ApiError, configureApi, STEP_UP_CANCELLED } from "./client";

function reply(status: number, body: unknown, headers: Record<string, string> = {}) {
  return vi.fn().mockResolvedValue(new Response(JSON.stringify(body), { status, headers }));
}

describe("api client", () => {
  beforeEach(() => configureApi({ dpop: null }));
  afterEach(() => vi.unstubAllGlobals());

  it("sends the session token as a bearer token when the tab holds no key for it", async () => {
    const fetchMock = reply(200, { id: "u1" });
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "secret-token" });
    await api.get("/api/auth/me");
    expect(fetchMock.mock.calls[0][1].headers.Authorization).toBe("Bearer secret-token");
    expect(fetchMock.mock.calls[0][1].headers.DPoP).toBeUndefined();
  });

  it("sends no token on the login calls", async () => {
    const fetchMock = reply(202, {});
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "secret-token" });
    await api.post("/api/auth/login", { email: "a@b.c", password: "x" }, { auth: false });
    expect(fetchMock.mock.calls[0][1].headers.Authorization).toBeUndefined();
  });

  it.each(["session_revoked", "session_expired", "unauthorized"])("ends the session on 401 %s", async (code) => {
    vi.stubGlobal("fetch", reply(401, { code, detail: "Sign in again." }));
    const onSessionLost = vi.fn();
    const onReauthRequired = vi.fn();
    configureApi({ getToken: () => "t", onSessionLost, onReauthRequired });
    await expect(api.get("/api/sessions")).rejects.toBeInstanceOf(ApiError);
    expect(onSessionLost).toHaveBeenCalledWith("Sign in again.");
    expect(onReauthRequired).not.toHaveBeenCalled();
  });

  it("opens the re-challenge on 401 reauth_required", async () => {
    vi.stubGlobal("fetch", reply(401, { code: "reauth_required", detail: "Confirm" }));
    const onSessionLost = vi.fn();
    const onReauthRequired = vi.fn();
    configureApi({ getToken: () => "t", onSessionLost, onReauthRequired });
    await expect(api.get("/api/sessions")).rejects.toMatchObject({ status: 401, code: "reauth_required" });
    expect(onReauthRequired).toHaveBeenCalledTimes(1);
    expect(onSessionLost).not.toHaveBeenCalled();
  });

  it("treats a wrong code as an error of the form, not of the session", async () => {
    vi.stubGlobal("fetch", reply(401, { code: "invalid_code", detail: "Wrong code" }));
    const onSessionLost = vi.fn();
    configureApi({ getToken: () => "t", onSessionLost, onReauthRequired: vi.fn() });
    await expect(api.post("/api/auth/reauth/verify", { code: "000000" })).rejects.toMatchObject({ code: "invalid_code" });
    expect(onSessionLost).not.toHaveBeenCalled();
  });

  it("asks for a step-up on 401 step_up_required, then sends the same request once more", async () => {
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(new Response(JSON.stringify(stepUpRequired().body), { status: 401 }))
      .mockResolvedValueOnce(new Response(JSON.stringify({ ended_sessions: 2 }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const onStepUpRequired = vi.fn().mockResolvedValue(true);
    const onSessionLost = vi.fn();
    configureApi({ getToken: () => "t", onStepUpRequired, onSessionLost });

    await expect(api.post("/api/sessions/revoke-others")).resolves.toEqual({ ended_sessions: 2 });
    expect(onStepUpRequired).toHaveBeenCalledWith(expect.objectContaining({ purpose: "step_up", channel: "email" }), undefined);
    expect(fetchMock.mock.calls.map(([path, init]) => [path, init.method, init.body])).toEqual([
      ["/api/sessions/revoke-others", "POST", "{}"],
      ["/api/sessions/revoke-others", "POST", "{}"],
    ]);
    expect(onSessionLost).not.toHaveBeenCalled();
  });

  it("sends nothing more when the step-up is declined", async () => {
    const fetchMock = reply(401, stepUpRequired().body);
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "t", onStepUpRequired: vi.fn().mockResolvedValue(false) });
    await expect(api.post("/api/auth/totp/setup")).rejects.toMatchObject({ status: 401, code: STEP_UP_CANCELLED });
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("asks for one step-up per request at most", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(stepUpRequired().body), { status: 401 }));
    vi.stubGlobal("fetch", fetchMock);
    const onStepUpRequired = vi.fn().mockResolvedValue(true);
    configureApi({ getToken: () => "t", onStepUpRequired });
    await expect(api.post("/api/auth/totp/setup")).rejects.toMatchObject({ code: "step_up_required" });
    expect(onStepUpRequired).toHaveBeenCalledTimes(1);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it("names the field a validation error is about", async () => {
    vi.stubGlobal(
      "fetch",
      reply(422, { code: "validation_failed", errors: [{ field: "body.password", message: "Too common a password." }] }),
    );
    const error = await api.post("/api/auth/register", {}, { auth: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).fieldError("password")).toBe("Too common a password.");
    expect((error as ApiError).fieldError("email")).toBeNull();
  });

  it("reads Retry-After of a 429", async () => {
    vi.stubGlobal("fetch", reply(429, { code: "too_many_attempts" }, { "Retry-After": "30" }));
    configureApi({ getToken: () => null });
    await expect(api.post("/api/auth/login", {}, { auth: false })).rejects.toMatchObject({ retryAfter: 30 });
  });

  it("reports an unreachable server as a network error", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    await expect(api.get("/api/auth/me")).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("api client with a DPoP key", () => {
  afterEach(() => vi.unstubAllGlobals());

  const headersOf = (fetchMock: ReturnType<typeof vi.fn>, call: number) =>
    fetchMock.mock.calls[call][1].headers as Record<string, string>;

  it("binds the sign-in's token to a new key: the code step carries a proof of it, with no token", async () => {
    const dpop = testDpopKey();
    const fetchMock = reply(200, { token: "tok" });
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => null, dpop });

    await api.post("/api/auth/otp/verify", { challenge_id: "c", code: "123456" }, { auth: false, bindKey: true });
    const headers = headersOf(fetchMock, 0);
    expect(headers.Authorization).toBeUndefined();
    const { claims, thumbprint } = await verifiedProof(headers.DPoP);
    expect(claims).toMatchObject({ htm: "POST", htu: "https://bbauth.example/api/auth/otp/verify" });
    expect(claims.ath).toBeUndefined();
    expect(thumbprint).toBe(await dpop.thumbprint());
  });

  it("sends every call with the token under the DPoP scheme and a fresh proof of the same key", async () => {
    const dpop = testDpopKey();
    await dpop.bind("POST", "/api/auth/otp/verify");
    const fetchMock = vi.fn(async () => new Response("{}", { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "tok-123", dpop });

    await api.get("/api/auth/me");
    await api.post("/api/demo/payments", { payee: "ACME", amount_cents: 1250 });
    await api.delete("/api/sessions/s2?reason=x");

    const proofs = await Promise.all([0, 1, 2].map((i) => verifiedProof(headersOf(fetchMock, i).DPoP)));
    expect([0, 1, 2].map((i) => headersOf(fetchMock, i).Authorization)).toEqual(Array(3).fill("DPoP tok-123"));
    expect(proofs.map((p) => [p.claims.htm, p.claims.htu])).toEqual([
      ["GET", "https://bbauth.example/api/auth/me"],
      ["POST", "https://bbauth.example/api/demo/payments"],
      ["DELETE", "https://bbauth.example/api/sessions/s2"],
    ]);
    expect(new Set(proofs.map((p) => p.claims.ath))).toEqual(new Set([accessTokenHash("tok-123")]));
    expect(new Set(proofs.map((p) => p.thumbprint))).toEqual(new Set([await dpop.thumbprint()]));
    expect(new Set(proofs.map((p) => p.claims.jti)).size).toBe(3);
  });

  it("sends the request held back by a step-up again with a new proof (each is single-use)", async () => {
    const dpop = testDpopKey();
    await dpop.bind("POST", "/api/auth/otp/verify");
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(new Response(JSON.stringify(stepUpRequired().body), { status: 401 }))
      .mockResolvedValueOnce(new Response(JSON.stringify({ reference: "PAY-1" }), { status: 201 }));
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "tok", dpop, onStepUpRequired: vi.fn().mockResolvedValue(true) });

    await api.post("/api/demo/payments", { payee: "ACME", amount_cents: 1 });
    const [first, again] = await Promise.all([0, 1].map((i) => verifiedProof(headersOf(fetchMock, i).DPoP)));
    expect(again.claims.jti).not.toBe(first.claims.jti);
  });

  it("tells the step-up why the operation needs a code", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(stepUpRequired().body), { status: 401 }));
    vi.stubGlobal("fetch", fetchMock);
    const onStepUpRequired = vi.fn().mockResolvedValue(false);
    configureApi({ getToken: () => "tok", dpop: testDpopKey(), onStepUpRequired });
    await expect(api.post("/api/demo/payments", {}, { stepUpReason: "Payments need it." })).rejects.toMatchObject({
      code: STEP_UP_CANCELLED,
    });
    expect(onStepUpRequired).toHaveBeenCalledWith(expect.objectContaining({ purpose: "step_up" }), "Payments need it.");
  });

  it("signs the person out when the server refuses this tab's proofs: the token is of no use here", async () => {
    vi.stubGlobal("fetch", reply(401, { code: "invalid_dpop_proof", detail: "The DPoP proof was made for another token." }));
    const onSessionLost = vi.fn();
    configureApi({ getToken: () => "tok", dpop: testDpopKey(), onSessionLost });
    await expect(api.get("/api/auth/me")).rejects.toMatchObject({ status: 401, code: "invalid_dpop_proof" });
    expect(onSessionLost).toHaveBeenCalledWith("This browser no longer holds the key of your session. Sign in again.");
  });

  it("sends nothing when this browser cannot make a key", async () => {
    const fetchMock = reply(200, {});
    vi.stubGlobal("fetch", fetchMock);
    const dpop = testDpopKey({ generate: () => Promise.reject(new TypeError("crypto.subtle is undefined")) });
    configureApi({ getToken: () => null, dpop });
    await expect(api.post("/api/auth/otp/verify", {}, { auth: false, bindKey: true })).rejects.toMatchObject({
      status: 0,
      code: "dpop_unavailable",
      detail: expect.stringContaining("https"),
    });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it("sends no proof with the password step", async () => {
    const dpop = testDpopKey();
    await dpop.bind("POST", "/api/auth/otp/verify");
    const fetchMock = reply(202, {});
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "tok", dpop });
    await api.post("/api/auth/login", { email: "a@b.c", password: "x" }, { auth: false });
    expect(headersOf(fetchMock, 0).DPoP).toBeUndefined();
  });
});
