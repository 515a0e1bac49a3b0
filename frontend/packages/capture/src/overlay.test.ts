import { fireEvent, waitFor } from "@testing-library/dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { page } from "../test/dom";
import { mockSocketFactory, type MockSocket } from "../test/mockSocket";
import { start, type Capture } from "./capture";
import { isIgnoredTarget } from "./ignore";

// jsdom has no authenticator: the WebAuthn ceremony is the browser's (tested in Chromium by
// tests/e2e); here only what the overlay does around it.
const webauthn = vi.hoisted(() => ({ supported: true, startAuthentication: vi.fn() }));
vi.mock("@simplewebauthn/browser", () => ({
  browserSupportsWebAuthn: () => webauthn.supported,
  startAuthentication: webauthn.startAuthentication,
}));

const CHALLENGE = {
  attempts_left: 5,
  challenge_id: "c1",
  channel: "email",
  destination: "a***e@bbauth.local",
  expires_at: "2026-12-05T22:00:00Z",
  purpose: "reauth",
  resends_left: 2,
};

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** bbauth's REST API as the overlay sees it: each path answers from `routes`, calls are kept. */
function fakeServer(routes: Record<string, (body: unknown) => [number, unknown]>) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const call = { method: init?.method ?? "GET", url: String(url), headers: init?.headers as Record<string, string>, body };
    calls.push(call);
    const route = routes[`${call.method} ${new URL(call.url, "http://page.test").pathname}`];
    const [status, answer] = route ? route(body) : [404, { code: "not_found", detail: "Not found." }];
    return new Response(JSON.stringify(answer), { status, headers: { "Content-Type": "application/json" } });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, calls };
}

const problem = (code: string, detail: string, extra: object = {}) => ({ type: `urn:bbauth:problem:${code}`, title: code, status: 400, detail, code, ...extra });

let running: Capture[] = [];

function challenged(routes: Parameters<typeof fakeServer>[0], options: { dpop?: () => Promise<string | null> } = {}) {
  const server = fakeServer({ "GET /api/auth/reauth": () => [200, CHALLENGE], ...routes });
  const { factory, sockets } = mockSocketFactory();
  const capture = start({ token: "tok", socketFactory: factory, fetch: server.fetch, ...options });
  running.push(capture);
  const socket: MockSocket = sockets[0];
  socket.serverSends("connect");
  socket.serverSends("reauth_required", { session_id: "s1", cause: "admin" });
  return { capture, socket, server };
}

const dialog = () => document.querySelector<HTMLElement>('[role="dialog"]');
const codeInput = () => document.querySelector<HTMLInputElement>("#bbauth-reauth-code")!;
const button = (name: RegExp) => [...document.querySelectorAll("button")].find((b) => name.test(b.textContent ?? ""))!;
const alertText = () => document.querySelector('[role="alert"]')?.textContent ?? "";

function typeCode(code: string) {
  fireEvent.input(codeInput(), { target: { value: code } });
}

describe("The re-challenge overlay", () => {
  beforeEach(() => {
    page(`<button data-testid="page-button">Pay</button><textarea data-testid="notes"></textarea>`);
    document.querySelector<HTMLElement>('[data-testid="notes"]')!.focus();
  });
  afterEach(() => {
    for (const capture of running) capture.stop();
    running = [];
  });

  it("opens as a labelled modal dialog when the session is challenged, saying why and where the code went", async () => {
    challenged({});
    const shown = dialog()!;
    expect(shown).not.toBeNull();
    expect(shown.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(shown.getAttribute("aria-labelledby")!)?.textContent).toBe("Confirm it's still you");
    expect(document.getElementById(shown.getAttribute("aria-describedby")!)?.textContent).toMatch(/security team asked/);
    await waitFor(() => expect(shown.textContent).toContain("We sent a 6-digit code to a***e@bbauth.local."));
    expect(document.activeElement).toBe(codeInput());
    expect(document.querySelector(`label[for="bbauth-reauth-code"]`)?.textContent).toBe("One-time code");
  });

  it("is never captured: the dialog is marked ignored and its field is a one-time-code field", () => {
    challenged({});
    expect(isIgnoredTarget(codeInput())).toBe(true);
    expect(codeInput().getAttribute("autocomplete")).toBe("one-time-code");
  });

  it("sends the code with the token and a DPoP proof, then closes and gives focus back", async () => {
    const dpop = vi.fn(async () => "proof");
    const { server, capture } = challenged({ "POST /api/auth/reauth/verify": () => [200, { state: "active" }] }, { dpop });
    await waitFor(() => expect(button(/Send a new code/).textContent).toContain("(2 left)"));
    typeCode("12a34 56");
    expect(codeInput().value).toBe("123456");
    fireEvent.submit(codeInput().form!);
    await waitFor(() => expect(dialog()).toBeNull());
    const verify = server.calls.find((c) => c.url.endsWith("/verify"))!;
    expect(verify).toMatchObject({ method: "POST", body: { code: "123456" } });
    expect(verify.headers).toMatchObject({ Authorization: "DPoP tok", DPoP: "proof" });
    expect(dpop).toHaveBeenCalledWith("POST", `${location.origin}/api/auth/reauth/verify`, "tok");
    expect(capture.state.challenged).toBe(false);
    expect(document.activeElement).toBe(document.querySelector('[data-testid="notes"]'));
  });

  it("announces a wrong code with the tries left, and stays open", async () => {
    challenged({
      "POST /api/auth/reauth/verify": () => [400, problem("invalid_code", "Wrong code.", { attempts_left: 3 })],
    });
    typeCode("000000");
    fireEvent.submit(codeInput().form!);
    await waitFor(() => expect(alertText()).toBe("That code is wrong. 3 tries left."));
    expect(codeInput().getAttribute("aria-invalid")).toBe("true");
    expect(codeInput().value).toBe("");
    expect(dialog()).not.toBeNull();
  });

  it("cannot be submitted before six digits", () => {
    const { server } = challenged({});
    typeCode("123");
    expect(button(/Continue/).disabled).toBe(true);
    fireEvent.submit(codeInput().form!);
    expect(server.calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("resends the code over REST and says where it went", async () => {
    const { server } = challenged({ "POST /api/auth/reauth/resend": () => [200, { ...CHALLENGE, resends_left: 1 }] });
    await waitFor(() => expect(button(/Send a new code/).disabled).toBe(false));
    fireEvent.click(button(/Send a new code/));
    await waitFor(() => expect(document.querySelector('[role="status"]')?.textContent).toBe("A new code is on its way to a***e@bbauth.local."));
    expect(button(/Send a new code/).textContent).toContain("(1 left)");
    expect(server.calls.some((c) => c.method === "POST" && c.url.endsWith("/resend"))).toBe(true);
  });

  it("has no resend for an authenticator app's code", async () => {
    challenged({ "GET /api/auth/reauth": () => [200, { ...CHALLENGE, channel: "totp" }] });
    await waitFor(() => expect(dialog()!.textContent).toContain("authenticator app"));
    expect(button(/Send a new code/).hidden).toBe(true);
  });

  it("keeps focus inside: Tab cycles, focus that leaves comes back, Escape does nothing", async () => {
    challenged({});
    await waitFor(() => expect(button(/Send a new code/).disabled).toBe(false));
    typeCode("123456");
    const focusable = [codeInput(), button(/Send a new code/), button(/Continue/)];
    focusable[2].focus();
    fireEvent.keyDown(focusable[2], { key: "Tab" });
    expect(document.activeElement).toBe(focusable[0]);
    fireEvent.keyDown(focusable[0], { key: "Tab", shiftKey: true });
    expect(document.activeElement).toBe(focusable[2]);
    document.querySelector<HTMLElement>('[data-testid="page-button"]')!.focus();
    expect(document.activeElement).toBe(codeInput());
    fireEvent.keyDown(codeInput(), { key: "Escape" });
    expect(dialog()).not.toBeNull();
  });

  it("closes when the challenge was already answered elsewhere (409)", async () => {
    const { capture } = challenged({ "GET /api/auth/reauth": () => [409, problem("no_challenge", "No challenge.")] });
    await waitFor(() => expect(dialog()).toBeNull());
    expect(capture.state.challenged).toBe(false);
  });

  it("closes when the server says the challenge was answered (another tab)", () => {
    const { socket } = challenged({});
    socket.serverSends("reauth_ok", { session_id: "s1" });
    expect(dialog()).toBeNull();
  });

  it("is not drawn when the page has its own dialog", () => {
    const { factory, sockets } = mockSocketFactory();
    running.push(start({ token: "tok", socketFactory: factory, overlay: false }));
    sockets[0].serverSends("reauth_required", { session_id: "s1" });
    expect(dialog()).toBeNull();
  });

  describe("for a person with a passkey", () => {
    const PASSKEY_FIRST = { ...CHALLENGE, passkey: true, code_sent: false };
    const ASSERTION = { id: "cred", type: "public-key", response: { signature: "sig" } };

    it("offers the passkey first, sends its assertion, and restores the session", async () => {
      webauthn.startAuthentication.mockResolvedValueOnce(ASSERTION);
      const { server, capture } = challenged({
        "GET /api/auth/reauth": () => [200, PASSKEY_FIRST],
        "POST /api/auth/reauth/passkey/options": () => [200, { options: { challenge: "abc", rpId: "localhost" } }],
        "POST /api/auth/reauth/passkey/verify": () => [200, { state: "active" }],
      });
      await waitFor(() => expect(button(/Use your passkey/).hidden).toBe(false));
      expect(dialog()!.textContent).toContain("Confirm with your passkey, or ask for a code.");
      expect(button(/Send me a code instead/)).toBeDefined();

      fireEvent.click(button(/Use your passkey/));

      await waitFor(() => expect(dialog()).toBeNull());
      expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: { challenge: "abc", rpId: "localhost" } });
      const verify = server.calls.find((c) => c.url.endsWith("/passkey/verify"))!;
      expect(verify.body).toEqual({ credential: ASSERTION });
      expect(capture.state.challenged).toBe(false);
    });

    it("announces a passkey the person did not use, and keeps the code as a way out", async () => {
      webauthn.startAuthentication.mockRejectedValueOnce(new DOMException("cancelled", "NotAllowedError"));
      challenged({
        "GET /api/auth/reauth": () => [200, PASSKEY_FIRST],
        "POST /api/auth/reauth/passkey/options": () => [200, { options: { challenge: "abc" } }],
      });
      await waitFor(() => expect(button(/Use your passkey/).hidden).toBe(false));

      fireEvent.click(button(/Use your passkey/));

      await waitFor(() => expect(alertText()).toBe("The passkey was not used. Try again, or ask for a code."));
      expect(dialog()).not.toBeNull();
      expect(button(/Send me a code instead/).disabled).toBe(false);
    });

    it("asks for a code where this browser cannot use passkeys", async () => {
      webauthn.supported = false;
      try {
        challenged({ "GET /api/auth/reauth": () => [200, PASSKEY_FIRST] });
        await waitFor(() => expect(dialog()!.textContent).toContain("Ask for a code to confirm it's you."));
        expect(button(/Use your passkey/).hidden).toBe(true);
      } finally {
        webauthn.supported = true;
      }
    });
  });
});
