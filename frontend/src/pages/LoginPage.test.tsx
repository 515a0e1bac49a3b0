import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { deviceTokenFor, rememberDeviceToken } from "../auth/deviceTokens";
import { ALICE, fakeApi, tokenResponse } from "../test/fakeApi";
import { mockSocketFactory } from "../test/mockSocket";

const CHALLENGE = {
  challenge_id: "handle-0123456789abcdef",
  channel: "email",
  purpose: "login",
  destination: "a***e@example.com",
  expires_at: new Date(Date.now() + 300_000).toISOString(),
  resends_left: 3,
  attempts_left: 5,
};
const DEVICE = "device-0123456789abcdef";

async function enterPassword(user: ReturnType<typeof userEvent.setup>, email = "alice@example.com") {
  await user.type(await screen.findByLabelText(/email/i), email);
  await user.type(screen.getByLabelText(/password/i), "correct horse");
  await user.click(screen.getByRole("button", { name: "Continue" }));
}

async function enterCode(user: ReturnType<typeof userEvent.setup>) {
  await user.type(await screen.findByTestId("otp-code"), "123456");
  await user.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("signing in", () => {
  beforeEach(() => window.history.replaceState(null, "", "/login"));
  afterEach(() => vi.unstubAllGlobals());

  it("keeps the device token a first sign-in hands out, for that account", async () => {
    const { calls } = fakeApi({
      "POST /api/auth/login": { status: 202, body: CHALLENGE },
      "POST /api/auth/otp/verify": { status: 200, body: { ...tokenResponse(), device_token: DEVICE } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user);
    await enterCode(user);

    expect(await screen.findByTestId("work-text")).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/auth/login")?.body).toEqual({ email: "alice@example.com", password: "correct horse" });
    expect(deviceTokenFor(ALICE.email)).toBe(DEVICE);
    expect(localStorage.getItem("bbauth.devices")).not.toContain("tok-123");
  });

  it("puts focus back on the code field after a wrong code, and says why", async () => {
    fakeApi({
      "POST /api/auth/login": { status: 202, body: CHALLENGE },
      "POST /api/auth/otp/verify": { status: 401, body: { code: "invalid_code", detail: "That code is wrong.", attempts_left: 4 } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user);
    await enterCode(user);
    expect(await screen.findByTestId("login-error")).toHaveAttribute("role", "alert");
    await waitFor(() => expect(screen.getByTestId("otp-code")).toHaveFocus());
    expect(screen.getByTestId("otp-code")).toHaveValue("");
  });

  it("sends the device token of a known browser with the password", async () => {
    rememberDeviceToken("alice@example.com", DEVICE);
    rememberDeviceToken("bob@example.com", "device-of-bob-0123456789");
    const { calls } = fakeApi({ "POST /api/auth/login": { status: 202, body: CHALLENGE } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user, "Alice@example.com");
    await screen.findByTestId("otp-destination");
    expect(calls.find((c) => c.path === "/api/auth/login")?.body).toEqual({
      email: "Alice@example.com",
      password: "correct horse",
      device_token: DEVICE,
    });
  });

  it("says when the code email cannot be sent", async () => {
    fakeApi({
      "POST /api/auth/login": { status: 503, body: { code: "mail_unavailable", detail: "Email cannot be sent right now; try again in a minute." } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user);
    expect(await screen.findByTestId("login-error")).toHaveTextContent("Email cannot be sent right now; try again in a minute.");
  });

  it("says how long to wait after too many attempts", async () => {
    fakeApi({
      "POST /api/auth/login": { status: 429, body: { code: "too_many_attempts", detail: "Too many attempts" }, headers: { "Retry-After": "120" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user);
    expect(await screen.findByTestId("login-error")).toHaveTextContent("Too many attempts. Try again in 2 min.");
  });

  it("sends an unconfirmed account through the same code step", async () => {
    fakeApi({
      "POST /api/auth/login": { status: 202, body: { ...CHALLENGE, purpose: "registration" } },
      "POST /api/auth/otp/verify": { status: 200, body: tokenResponse() },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user);
    expect(await screen.findByTestId("otp-destination")).toHaveTextContent("to confirm your address");
    await enterCode(user);
    expect(await screen.findByTestId("work-text")).toBeInTheDocument();
  });

  it("starts over when the sign-in attempt is closed", async () => {
    fakeApi({
      "POST /api/auth/login": { status: 202, body: CHALLENGE },
      "POST /api/auth/otp/verify": { status: 401, body: { code: "challenge_closed", detail: "This sign-in attempt is over." } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await enterPassword(user);
    await enterCode(user);
    expect(await screen.findByTestId("login-start-over")).toHaveTextContent("Enter your password again");
    expect(screen.getByTestId("login-password")).toHaveValue("");
  });
});

describe("creating an account", () => {
  beforeEach(() => window.history.replaceState(null, "", "/login"));
  afterEach(() => vi.unstubAllGlobals());

  async function fillSignUp(user: ReturnType<typeof userEvent.setup>, name = "") {
    await user.click(await screen.findByRole("button", { name: "Create an account" }));
    await user.type(screen.getByLabelText(/email/i), "new@example.com");
    await user.type(screen.getByLabelText(/^password/i), "a long passphrase");
    if (name) await user.type(screen.getByLabelText(/name/i), name);
    await user.click(screen.getByRole("button", { name: "Create account" }));
  }

  it("confirms the address with the emailed code and signs in", async () => {
    const { calls } = fakeApi({
      "POST /api/auth/register": { status: 202, body: { ...CHALLENGE, purpose: "registration", destination: "n***w@example.com" } },
      "POST /api/auth/otp/verify": { status: 200, body: { ...tokenResponse({ ...ALICE, email: "new@example.com" }), device_token: DEVICE } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await fillSignUp(user, "Newt");
    expect(await screen.findByTestId("otp-destination")).toHaveTextContent("n***w@example.com");
    expect(screen.getByText("Confirm your email address")).toBeInTheDocument();
    await enterCode(user);

    expect(await screen.findByTestId("work-text")).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/auth/register")?.body).toEqual({
      email: "new@example.com",
      password: "a long passphrase",
      display_name: "Newt",
    });
    expect(calls.find((c) => c.path === "/api/auth/register")?.headers.Authorization).toBeUndefined();
    expect(deviceTokenFor("new@example.com")).toBe(DEVICE);
  });

  it("shows why a password or address was refused under its field", async () => {
    fakeApi({
      "POST /api/auth/register": {
        status: 422,
        body: {
          code: "validation_failed",
          detail: "One or more fields are not valid.",
          errors: [{ field: "body.password", message: "This password is too common; choose a longer passphrase." }],
        },
      },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await fillSignUp(user);
    const password = await screen.findByLabelText(/^password/i);
    await screen.findByText("This password is too common; choose a longer passphrase.");
    expect(password).toHaveAttribute("aria-invalid", "true");
    expect(password).toHaveAccessibleDescription("This password is too common; choose a longer passphrase.");
    expect(screen.getByLabelText(/email/i)).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByTestId("login-error")).toBeNull();
  });

  it("says so when sign-up is closed", async () => {
    fakeApi({ "POST /api/auth/register": { status: 403, body: { code: "forbidden", detail: "Registration is closed; ask an administrator." } } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await fillSignUp(user);
    expect(await screen.findByTestId("login-error")).toHaveTextContent("Registration is closed; ask an administrator.");
  });
});

describe("the code step", () => {
  beforeEach(() => window.history.replaceState(null, "", "/login"));
  afterEach(() => vi.unstubAllGlobals());

  it("takes a recovery code in place of a lost authenticator app's code", async () => {
    const { calls } = fakeApi({
      "POST /api/auth/login": { status: 202, body: { ...CHALLENGE, channel: "totp", destination: "authenticator app" } },
      "POST /api/auth/otp/verify": { status: 200, body: tokenResponse() },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await enterPassword(user);
    await user.click(await screen.findByTestId("otp-code-recovery"));
    const field = screen.getByLabelText("Recovery code");
    expect(field).toHaveAttribute("data-bbauth-ignore");
    await user.type(field, "ABCDE-FGH23");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    const verify = await vi.waitFor(() => {
      const found = calls.find((c) => c.path === "/api/auth/otp/verify");
      if (!found) throw new Error("not sent yet");
      return found;
    });
    expect(verify.body).toEqual({ challenge_id: CHALLENGE.challenge_id, code: "abcde-fgh23" });
  });

  it("says how long the code works and how many tries are left", async () => {
    fakeApi({ "POST /api/auth/login": { status: 202, body: CHALLENGE } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await enterPassword(user);

    expect(await screen.findByTestId("otp-terms")).toHaveTextContent(/It works for about [45] minutes; 5 tries left\./);
  });

  it("offers no recovery code for an emailed code", async () => {
    fakeApi({ "POST /api/auth/login": { status: 202, body: CHALLENGE } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await enterPassword(user);

    expect(await screen.findByTestId("otp-code")).toBeInTheDocument();
    expect(screen.queryByTestId("otp-code-recovery")).not.toBeInTheDocument();
  });
});
