import { afterEach, describe, expect, it, vi } from "vitest";
import { stepUpRequired } from "../test/fakeApi";
import { api, ApiError, configureApi, STEP_UP_CANCELLED } from "./client";

function reply(status: number, body: unknown, headers: Record<string, string> = {}) {
  return vi.fn().mockResolvedValue(new Response(JSON.stringify(body), { status, headers }));
}

describe("api client", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends the session token as a bearer token", async () => {
    const fetchMock = reply(200, { id: "u1" });
    vi.stubGlobal("fetch", fetchMock);
    configureApi({ getToken: () => "secret-token" });
    await api.get("/api/auth/me");
    expect(fetchMock.mock.calls[0][1].headers.Authorization).toBe("Bearer secret-token");
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
    expect(onStepUpRequired).toHaveBeenCalledWith(expect.objectContaining({ purpose: "step_up", channel: "email" }));
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
