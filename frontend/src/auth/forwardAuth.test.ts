import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { configureApi } from "../api/client";
import { pendingReturn, rememberReturn, returnToGuardedApp } from "./forwardAuth";

function reply(status: number, body: unknown) {
  return vi.fn().mockResolvedValue(new Response(JSON.stringify(body), { status }));
}

describe("forward-auth portal", () => {
  beforeEach(() => {
    window.sessionStorage.clear();
    configureApi({ dpop: null, getToken: () => "t" });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("keeps the return URL of the query for after sign-in", () => {
    rememberReturn("?rd=https%3A%2F%2Fapp.example.com%2Fnotes&reason=step_up_required");
    expect(pendingReturn()).toBe("https://app.example.com/notes");
    rememberReturn("?next=%2Fwork");
    expect(pendingReturn()).toBe("https://app.example.com/notes");
  });

  it("gets the cookie and goes only where the server confirmed", async () => {
    const fetchMock = reply(200, { session_id: "s", expires_at: "2031-01-01T00:00:00Z", return_to: "https://app.example.com/notes" });
    vi.stubGlobal("fetch", fetchMock);
    rememberReturn("?rd=https%3A%2F%2Fapp.example.com%2Fnotes");
    const go = vi.fn();

    expect(await returnToGuardedApp(go)).toBe(true);

    expect(fetchMock.mock.calls[0][0]).toBe("/api/forward-auth/cookie");
    expect(JSON.parse(fetchMock.mock.calls[0][1].body)).toEqual({ return_to: "https://app.example.com/notes" });
    expect(go).toHaveBeenCalledWith("https://app.example.com/notes");
    expect(pendingReturn()).toBeNull();
  });

  it("stays and forgets a return URL the server refuses", async () => {
    vi.stubGlobal("fetch", reply(403, { code: "return_url_refused", status: 403, detail: "no" }));
    rememberReturn("?rd=https%3A%2F%2Fevil.example%2F");
    const go = vi.fn();

    expect(await returnToGuardedApp(go)).toBe(false);

    expect(go).not.toHaveBeenCalled();
    expect(pendingReturn()).toBeNull();
  });

  it("waits for a challenged session's code before going back", async () => {
    vi.stubGlobal("fetch", reply(401, { code: "reauth_required", status: 401, detail: "code" }));
    rememberReturn("?rd=https%3A%2F%2Fapp.example.com%2F");
    const go = vi.fn();

    expect(await returnToGuardedApp(go)).toBe(false);

    expect(go).not.toHaveBeenCalled();
    expect(pendingReturn()).toBe("https://app.example.com/");
  });

  it("does nothing without a waiting URL", async () => {
    const fetchMock = reply(200, {});
    vi.stubGlobal("fetch", fetchMock);
    expect(await returnToGuardedApp(vi.fn())).toBe(false);
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
