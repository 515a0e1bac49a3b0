import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ALICE, fakeApi, inTurn, signedIn, stepUpRequired, withToken } from "../test/fakeApi";
import { mockSocketFactory } from "../test/mockSocket";

const QR = "data:image/png;base64,iVBORw0KGgo=";
const RECOVERY = ["abcde-fghij", "klmno-pqrst", "uvwxy-z2345", "67abc-defgh", "ijklm-nopqr", "stuvw-xyz23", "4567a-bcdef", "ghijk-lmnop", "qrstu-vwxyz", "23456-7abcd"];
const BEHAVIOR = {
  user_id: "u-alice",
  email: "alice@example.com",
  mode: "enrollment",
  last_trained_at: null,
  keystroke: { version: null, samples: 3, needed: 20, eer: null },
  mouse: { version: null, samples: 10, needed: 200, eer: null },
};

const PAGE = {
  "GET /api/auth/me": { status: 200, body: ALICE },
  "GET /api/behavior/me": { status: 200, body: BEHAVIOR },
  "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
  "GET /api/account/notices": { status: 200, body: { notices: [] } },
};

describe("the account page", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/account");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("lists the sessions with the first request after a reload, which carries the token", async () => {
    // The session comes back from sessionStorage (beforeEach), as after a reload.
    const SESSION = { id: "s-1", state: "active", created_at: "2031-03-04T09:00:00Z", ip: "127.0.0.1", user_agent: "Chromium" };
    const { calls } = fakeApi({
      ...PAGE,
      "GET /api/auth/me": withToken({ status: 200, body: ALICE }),
      "GET /api/sessions": withToken({ status: 200, body: { sessions: [SESSION], total: 1 } }),
    });
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("session-row")).toHaveTextContent("127.0.0.1");
    const first = calls.find((c) => c.path === "/api/sessions");
    expect(first?.headers.Authorization).toBe("Bearer tok-123");
    expect(screen.queryByTestId("sessions-load-error")).toBeNull();
  });

  it("says so when the sessions cannot be loaded, rather than showing an empty table", async () => {
    fakeApi({ ...PAGE, "GET /api/sessions": { status: 503, body: { code: "unavailable", detail: "The database is unavailable." } } });
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("sessions-load-error")).toHaveTextContent("The database is unavailable.");
    expect(screen.queryByTestId("session-row")).toBeNull();
  });

  it("sets up the authenticator app from its QR code and a first code, then turns it off", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/behavior/me": { status: 200, body: BEHAVIOR },
      "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
      "POST /api/auth/totp/setup": { status: 200, body: { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/x", qr_png: QR } },
      "POST /api/auth/totp/confirm": { status: 200, body: { ...ALICE, totp_enabled: true } },
      "POST /api/auth/totp/disable": { status: 200, body: { ...ALICE, totp_enabled: false } },
      "POST /api/auth/totp/recovery-codes": { status: 200, body: { codes: RECOVERY, remaining: 10 } },
      "GET /api/auth/totp/recovery-codes": { status: 200, body: { remaining: 10 } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await user.click(await screen.findByTestId("totp-setup"));
    expect(await screen.findByTestId("totp-qr")).toHaveAttribute("src", QR);
    expect(screen.getByTestId("totp-secret")).toHaveTextContent("JBSWY3DPEHPK3PXP");
    const code = screen.getByTestId("totp-code");
    expect(code).toHaveAttribute("data-bbauth-ignore");
    await user.type(code, "123456");
    await user.click(screen.getByRole("button", { name: "Turn on" }));
    expect(await screen.findByText(/Authenticator app is on/)).toBeInTheDocument();
    expect(JSON.parse(sessionStorage.getItem("bbauth.session")!).user.totp_enabled).toBe(true);
    // The app's recovery codes are made at once and shown this one time.
    const list = await screen.findByTestId("recovery-list");
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual(RECOVERY);
    expect(await screen.findByText(/10 unused codes left/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "I have kept them" }));
    expect(screen.queryByTestId("recovery-list")).not.toBeInTheDocument();

    await user.type(screen.getByTestId("totp-disable-code"), "654321");
    await user.click(screen.getByRole("button", { name: "Turn off" }));
    expect(await screen.findByText(/codes go by email again/)).toBeInTheDocument();
    const posts = calls.filter((c) => c.method === "POST" && c.path.startsWith("/api/auth/totp/"));
    expect(posts.map((c) => [c.path, c.body])).toEqual([
      ["/api/auth/totp/setup", {}],
      ["/api/auth/totp/confirm", { code: "123456" }],
      ["/api/auth/totp/recovery-codes", {}],
      ["/api/auth/totp/disable", { code: "654321" }],
    ]);
  });

  it("shows the behavioural profile's progress", async () => {
    fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/behavior/me": { status: 200, body: BEHAVIOR },
      "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
    });
    render(<App socketFactory={mockSocketFactory().factory} />);
    await waitFor(() => expect(screen.getByText(/Keystrokes: 3 \/ 20 windows/)).toBeInTheDocument());
  });

  it("changes the password and says how many other sessions ended", async () => {
    const { calls } = fakeApi({ ...PAGE, "POST /api/account/password": { status: 200, body: { ended_sessions: 2 } } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    const form = await screen.findByRole("form", { name: "Change password" });
    expect(form).toHaveAttribute("data-bbauth-ignore");
    await user.type(within(form).getByLabelText(/current password/i), "old secret");
    await user.type(within(form).getByLabelText(/^new password\W*$/i), "a brand new passphrase");
    await user.type(within(form).getByLabelText(/new password again/i), "a brand new passphrase");
    await user.click(within(form).getByRole("button", { name: "Change password" }));

    expect(await screen.findByTestId("password-done")).toHaveTextContent("Password changed. 2 other sessions were signed out.");
    expect(calls.find((c) => c.path === "/api/account/password")?.body).toEqual({
      current_password: "old secret",
      new_password: "a brand new passphrase",
    });
    expect(within(form).getByLabelText(/current password/i)).toHaveValue("");
  });

  it("puts a refused password under its field", async () => {
    fakeApi({
      ...PAGE,
      "POST /api/account/password": inTurn(
        { status: 401, body: { code: "invalid_credentials", detail: "The current password is not right." } },
        {
          status: 422,
          body: { code: "validation_failed", errors: [{ field: "body.new_password", message: "This password is too common." }] },
        },
      ),
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    const form = await screen.findByRole("form", { name: "Change password" });
    const current = within(form).getByLabelText(/current password/i);
    const next = within(form).getByLabelText(/^new password\W*$/i);
    await user.type(current, "wrong");
    await user.type(next, "password1");
    await user.type(within(form).getByLabelText(/new password again/i), "password1");
    await user.click(within(form).getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(current).toHaveAccessibleDescription("The current password is not right."));

    await user.click(within(form).getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(next).toHaveAccessibleDescription("This password is too common."));
    expect(current).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByTestId("password-error")).toBeNull();
  });

  it("does not send two different new passwords", async () => {
    const { calls } = fakeApi(PAGE);
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    const form = await screen.findByRole("form", { name: "Change password" });
    await user.type(within(form).getByLabelText(/current password/i), "old secret");
    await user.type(within(form).getByLabelText(/^new password\W*$/i), "a brand new passphrase");
    await user.type(within(form).getByLabelText(/new password again/i), "a brand new passfrase");
    await user.click(within(form).getByRole("button", { name: "Change password" }));
    expect(within(form).getByLabelText(/new password again/i)).toHaveAccessibleDescription("The two new passwords differ.");
    expect(calls.filter((c) => c.path === "/api/account/password")).toHaveLength(0);
  });

  it("moves the account to a new address confirmed by the code sent there", async () => {
    const moved = { ...ALICE, email: "alice@new.example" };
    const { calls } = fakeApi({
      ...PAGE,
      "POST /api/account/email": {
        status: 202,
        body: { challenge_id: null, channel: "email", purpose: "email_change", destination: "a***e@new.example", expires_at: "2031-01-01T00:00:00Z", resends_left: 3, attempts_left: 5 },
      },
      "POST /api/account/email/confirm": { status: 200, body: moved },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.type(await screen.findByLabelText(/new email address/i), "alice@new.example");
    await user.click(screen.getByRole("button", { name: "Send code" }));
    expect(await screen.findByTestId("email-destination")).toHaveTextContent("a***e@new.example");
    await user.type(screen.getByTestId("email-code"), "424242");
    await user.click(screen.getByRole("button", { name: "Confirm new address" }));

    expect(await screen.findByTestId("email-done")).toHaveTextContent("alice@new.example");
    expect(calls.filter((c) => c.path.startsWith("/api/account/email")).map((c) => [c.path, c.body])).toEqual([
      ["/api/account/email", { email: "alice@new.example" }],
      ["/api/account/email/confirm", { code: "424242" }],
    ]);
    expect(JSON.parse(sessionStorage.getItem("bbauth.session")!).user.email).toBe("alice@new.example");
    expect(screen.getByTestId("signed-in-as")).toHaveTextContent("alice@new.example");
  });

  it("signs out every other session after a confirmation and a fresh code", async () => {
    const { calls } = fakeApi({
      ...PAGE,
      "POST /api/sessions/revoke-others": inTurn(stepUpRequired(), { status: 200, body: { ended_sessions: 3 } }),
      "POST /api/auth/step-up/verify": { status: 200, body: { id: "s1", state: "active" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("revoke-others"));
    expect(calls.filter((c) => c.path === "/api/sessions/revoke-others")).toHaveLength(0);
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Sign out others" }));
    await user.type(await screen.findByTestId("step-up-code"), "123456");
    await user.click(screen.getByTestId("step-up-submit"));

    expect(await screen.findByTestId("sessions-done")).toHaveTextContent("3 other sessions were signed out.");
    expect(calls.filter((c) => c.path === "/api/sessions/revoke-others")).toHaveLength(2);
    expect(sessionStorage.getItem("bbauth.session")).not.toBeNull();
  });

  it("names each session's device and says when it was last active", async () => {
    const fiveMinutesAgo = new Date(Date.now() - 5 * 60_000).toISOString();
    fakeApi({
      ...PAGE,
      "GET /api/sessions": {
        status: 200,
        body: {
          total: 1,
          sessions: [
            {
              id: "s-phone",
              user_id: "u-alice",
              state: "active",
              created_at: "2031-03-04T09:00:00Z",
              expires_at: "2031-03-05T09:00:00Z",
              last_seen_at: fiveMinutesAgo,
              ip: "203.0.113.9",
              user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            },
          ],
        },
      },
    });
    render(<App socketFactory={mockSocketFactory().factory} />);

    const row = await screen.findByTestId("session-row");
    expect(within(row).getByTestId("session-device")).toHaveTextContent("Safari on iPhone");
    expect(row).toHaveTextContent("5 min ago");
    expect(row).not.toHaveTextContent("Mozilla");
  });

  it("lists the security notices in words", async () => {
    fakeApi({
      ...PAGE,
      "GET /api/account/notices": {
        status: 200,
        body: {
          notices: [
            { id: "n2", kind: "totp_enabled", at: "2031-03-04T09:00:00Z", ip: "203.0.113.9", link_used: true },
            { id: "n1", kind: "password_changed", at: "2031-03-03T09:00:00Z", ip: "203.0.113.9", link_used: false },
          ],
        },
      },
    });
    render(<App socketFactory={mockSocketFactory().factory} />);
    const rows = await screen.findAllByTestId("notice-row");
    expect(rows.map((r) => r.textContent)).toEqual([
      expect.stringContaining("Authenticator app added"),
      expect.stringContaining("Password changed"),
    ]);
    expect(rows[0]).toHaveTextContent("Reported as not you");
    expect(rows[1]).toHaveTextContent("203.0.113.9");
    expect(rows[1]).not.toHaveTextContent("Reported as not you");
  });

  it("explains a frozen account and shows the refusal of a change", async () => {
    fakeApi({
      ...PAGE,
      "GET /api/auth/me": { status: 200, body: { ...ALICE, frozen: true } },
      "POST /api/auth/totp/setup": {
        status: 403,
        body: { code: "account_frozen", detail: "Security settings of this account are frozen after a report that a change was not yours." },
      },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("account-frozen")).toHaveTextContent("until your next sign-in");
    await user.click(screen.getByTestId("totp-setup"));
    expect(await screen.findByTestId("totp-error")).toHaveTextContent("frozen after a report");
  });
});
