import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ALICE, fakeApi, signedIn, tokenResponse } from "../test/fakeApi";
import { mockSocketFactory } from "../test/mockSocket";

// The authenticator is the browser's: stand in for it at the library's boundary.
const webauthn = vi.hoisted(() => ({
  startRegistration: vi.fn(async () => ({ id: "new-credential", response: { attestationObject: "att" } })),
  startAuthentication: vi.fn(async () => ({ id: "credential", response: { signature: "sig" } })),
}));
vi.mock("@simplewebauthn/browser", () => webauthn);

const PASSKEY = {
  id: "11111111-2222-3333-4444-555555555555",
  name: "Laptop",
  created_at: "2026-12-05T10:00:00Z",
  last_used_at: null,
  authenticator_type: "platform",
  device_type: "multi_device",
  backed_up: true,
  transports: ["internal"],
};
const PASSKEY_FIRST = {
  challenge_id: "handle-0123456789abcdef",
  channel: "email",
  purpose: "login",
  destination: "a***e@example.com",
  expires_at: new Date(Date.now() + 300_000).toISOString(),
  resends_left: 3,
  attempts_left: 5,
  passkey: true,
  code_sent: false,
};
const OPTIONS = { options: { challenge: "abc", allowCredentials: [] } };

describe("passkeys", () => {
  beforeEach(() => {
    // A browser with WebAuthn (jsdom has none).
    vi.stubGlobal("PublicKeyCredential", function PublicKeyCredential() {});
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    webauthn.startRegistration.mockClear();
    webauthn.startAuthentication.mockClear();
  });

  describe("on the account page", () => {
    beforeEach(() => {
      signedIn();
      window.history.replaceState(null, "", "/account");
    });

    it("adds a named passkey made by this device, lists it and removes it after asking", async () => {
      let mine: unknown[] = [];
      const { calls } = fakeApi({
        "GET /api/auth/me": { status: 200, body: ALICE },
        "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
        "GET /api/account/passkeys": () => ({ status: 200, body: { passkeys: mine } }),
        "POST /api/account/passkeys/options": { status: 200, body: { options: { challenge: "reg" } } },
        "POST /api/account/passkeys": () => {
          mine = [PASSKEY];
          return { status: 201, body: PASSKEY };
        },
        [`DELETE /api/account/passkeys/${PASSKEY.id}`]: { status: 200, body: { passkeys: [] } },
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);

      await user.type(await screen.findByTestId("passkey-name"), "Laptop");
      await user.click(screen.getByTestId("passkey-add"));

      expect(await screen.findByText(/Passkey "Laptop" added/)).toBeInTheDocument();
      expect(webauthn.startRegistration).toHaveBeenCalledWith({ optionsJSON: { challenge: "reg" } });
      expect(calls.find((c) => c.method === "POST" && c.path === "/api/account/passkeys")?.body).toEqual({
        name: "Laptop",
        credential: { id: "new-credential", response: { attestationObject: "att" } },
      });
      const row = await screen.findByTestId("passkey-row");
      expect(row).toHaveTextContent("This device");
      expect(row).toHaveTextContent("synced");
      expect(row).toHaveTextContent("never");

      await user.click(within(row).getByTestId("passkey-remove"));
      await user.click(within(await screen.findByTestId("confirm-dialog")).getByRole("button", { name: "Remove" }));
      expect(await screen.findByText(/Passkey "Laptop" removed/)).toBeInTheDocument();
      expect(screen.queryByTestId("passkey-row")).not.toBeInTheDocument();
    });

    it("renames a passkey in place, and leaves it as it was when the edit is cancelled", async () => {
      const { calls } = fakeApi({
        "GET /api/auth/me": { status: 200, body: ALICE },
        "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
        "GET /api/account/passkeys": { status: 200, body: { passkeys: [PASSKEY] } },
        [`PATCH /api/account/passkeys/${PASSKEY.id}`]: (body) => ({
          status: 200,
          body: { ...PASSKEY, ...(body as { name: string }) },
        }),
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);

      const row = await screen.findByTestId("passkey-row");
      await user.click(within(row).getByRole("button", { name: "Rename Laptop" }));
      const field = within(row).getByLabelText(/new name/i);
      expect(field).toHaveFocus();
      await user.type(field, " (old){Escape}");
      expect(within(row).queryByLabelText(/new name/i)).not.toBeInTheDocument();
      expect(row).toHaveTextContent("Laptop");
      expect(calls.some((c) => c.method === "PATCH")).toBe(false);
      expect(within(row).getByRole("button", { name: "Rename Laptop" })).toHaveFocus();

      await user.click(within(row).getByRole("button", { name: "Rename Laptop" }));
      await user.clear(within(row).getByLabelText(/new name/i));
      await user.type(within(row).getByLabelText(/new name/i), "Work laptop{Enter}");

      expect(await screen.findByText(/Passkey renamed to "Work laptop"/)).toBeInTheDocument();
      expect(within(row).queryByLabelText(/new name/i)).not.toBeInTheDocument();
      expect(row).toHaveTextContent("Work laptop");
      expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ name: "Work laptop" });
      await waitFor(() => expect(within(row).getByRole("button", { name: "Rename Work laptop" })).toHaveFocus());
    });
  });

  it("answers a re-challenge with one touch, offered before any code", async () => {
    signedIn();
    window.history.replaceState(null, "", "/work");
    let challenged = true;
    const { calls } = fakeApi({
      "GET /api/auth/me": () =>
        challenged ? { status: 401, body: { code: "reauth_required", detail: "Confirm" } } : { status: 200, body: ALICE },
      "GET /api/auth/reauth": { status: 200, body: { ...PASSKEY_FIRST, challenge_id: null, purpose: "reauth" } },
      "POST /api/auth/reauth/passkey/options": { status: 200, body: OPTIONS },
      "POST /api/auth/reauth/passkey/verify": () => {
        challenged = false;
        return { status: 200, body: { id: "s1", state: "active" } };
      },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    const dialog = await screen.findByTestId("reauth-dialog", {}, { timeout: 5000 });
    await within(dialog).findByText(/Confirm with your passkey/, {}, { timeout: 5000 });
    expect(within(dialog).queryByTestId("reauth-submit")).not.toBeInTheDocument();
    await user.click(within(dialog).getByTestId("reauth-passkey"));

    await waitFor(() => expect(screen.queryByTestId("reauth-dialog")).not.toBeInTheDocument(), { timeout: 5000 });
    expect(calls.find((c) => c.path === "/api/auth/reauth/passkey/verify")?.body).toEqual({
      credential: { id: "credential", response: { signature: "sig" } },
    });
  });

  describe("at sign-in", () => {
    beforeEach(() => window.history.replaceState(null, "", "/login"));

    async function enterPassword(user: ReturnType<typeof userEvent.setup>) {
      await user.type(await screen.findByLabelText(/email/i), "alice@example.com");
      await user.type(screen.getByLabelText(/password/i), "correct horse");
      await user.click(screen.getByRole("button", { name: "Continue" }));
    }

    it("offers the passkey first and binds the token it answers to this tab's key", async () => {
      const { calls } = fakeApi({
        "POST /api/auth/login": { status: 202, body: PASSKEY_FIRST },
        "POST /api/auth/passkey/login/options": { status: 200, body: OPTIONS },
        "POST /api/auth/passkey/login/verify": { status: 200, body: tokenResponse() },
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);
      await enterPassword(user);

      expect(await screen.findByTestId("otp-destination")).toHaveTextContent("Confirm with your passkey");
      expect(screen.queryByTestId("otp-code")).not.toBeInTheDocument();
      await user.click(screen.getByTestId("passkey-sign-in"));

      expect(await screen.findByTestId("work-text")).toBeInTheDocument();
      const verify = calls.find((c) => c.path === "/api/auth/passkey/login/verify");
      expect(verify?.body).toEqual({ challenge_id: PASSKEY_FIRST.challenge_id, credential: { id: "credential", response: { signature: "sig" } } });
      expect(verify?.headers.DPoP).toBeTruthy();
    });

    it("signs in with a passkey alone where the deployment allows it, bound to this tab's key", async () => {
      const { calls } = fakeApi({
        "GET /api/auth/options": { status: 200, body: { passkey_login: true } },
        "POST /api/auth/passkey/sign-in/options": { status: 200, body: OPTIONS },
        "POST /api/auth/passkey/sign-in/verify": { status: 200, body: tokenResponse() },
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);

      await user.click(await screen.findByRole("button", { name: "Sign in with a passkey" }));

      expect(await screen.findByTestId("work-text")).toBeInTheDocument();
      expect(webauthn.startAuthentication).toHaveBeenCalledWith({ optionsJSON: OPTIONS.options });
      expect(calls.find((c) => c.path === "/api/auth/passkey/sign-in/options")?.body).toEqual({});
      const verify = calls.find((c) => c.path === "/api/auth/passkey/sign-in/verify");
      expect(verify?.body).toEqual({ credential: { id: "credential", response: { signature: "sig" } } });
      expect(verify?.headers.DPoP).toBeTruthy();
      expect(calls.some((c) => c.path === "/api/auth/login")).toBe(false);
    });

    it("offers no passkey alone where the deployment does not allow it", async () => {
      fakeApi({ "GET /api/auth/options": { status: 200, body: { passkey_login: false } } });
      render(<App socketFactory={mockSocketFactory().factory} />);

      await waitFor(() => expect(screen.getByTestId("login-card")).toHaveAttribute("data-sign-in-options", "known"));
      expect(screen.queryByRole("button", { name: "Sign in with a passkey" })).not.toBeInTheDocument();
      expect(screen.getByRole("button", { name: "Continue" })).toBeInTheDocument();
    });

    it("says so when no passkey was used, and puts the focus back on the form", async () => {
      fakeApi({
        "GET /api/auth/options": { status: 200, body: { passkey_login: true } },
        "POST /api/auth/passkey/sign-in/options": { status: 200, body: OPTIONS },
      });
      webauthn.startAuthentication.mockImplementationOnce(async () => {
        throw Object.assign(new Error("The operation either timed out or was not allowed."), { name: "NotAllowedError" });
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);

      await user.click(await screen.findByRole("button", { name: "Sign in with a passkey" }));

      expect(await screen.findByRole("alert")).toHaveTextContent("No passkey was used");
      expect(screen.getByTestId("login-email")).toHaveFocus();
      expect(screen.queryByTestId("work-text")).not.toBeInTheDocument();
    });

    it("says so when the server refuses the passkey", async () => {
      fakeApi({
        "GET /api/auth/options": { status: 200, body: { passkey_login: true } },
        "POST /api/auth/passkey/sign-in/options": { status: 200, body: OPTIONS },
        "POST /api/auth/passkey/sign-in/verify": {
          status: 401,
          body: { code: "passkey_refused", detail: "The passkey's answer was refused." },
        },
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);

      await user.click(await screen.findByRole("button", { name: "Sign in with a passkey" }));

      expect(await screen.findByRole("alert")).toHaveTextContent("That passkey was not accepted");
      expect(screen.getByTestId("login-email")).toHaveFocus();
    });

    it("sends a code instead when asked, and takes it", async () => {
      const { calls } = fakeApi({
        "POST /api/auth/login": { status: 202, body: PASSKEY_FIRST },
        "POST /api/auth/otp/resend": { status: 200, body: { ...PASSKEY_FIRST, code_sent: true, resends_left: 2 } },
        "POST /api/auth/otp/verify": { status: 200, body: tokenResponse() },
      });
      const user = userEvent.setup();
      render(<App socketFactory={mockSocketFactory().factory} />);
      await enterPassword(user);

      await user.click(await screen.findByRole("button", { name: "Send me a code instead" }));
      await user.type(await screen.findByTestId("otp-code"), "123456");
      await user.click(screen.getByRole("button", { name: "Sign in with the code" }));

      expect(await screen.findByTestId("work-text")).toBeInTheDocument();
      expect(calls.find((c) => c.path === "/api/auth/otp/verify")?.body).toEqual({ challenge_id: PASSKEY_FIRST.challenge_id, code: "123456" });
      expect(webauthn.startAuthentication).not.toHaveBeenCalled();
    });
  });
});
