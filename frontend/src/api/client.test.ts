import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, configureApi } from "./client";

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
