import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ALICE, fakeApi, inTurn, signedIn, STEP_UP_CHALLENGE, stepUpRequired } from "../test/fakeApi";
import { mockSocketFactory } from "../test/mockSocket";

const QR = "data:image/png;base64,iVBORw0KGgo=";
const SETUP = { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/x", qr_png: QR };
const PAGE = {
  "GET /api/auth/me": { status: 200, body: ALICE },
  "GET /api/behavior/me": { status: 404, body: { code: "not_found" } },
  "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
  "GET /api/account/notices": { status: 200, body: { notices: [] } },
};
const wrongCode = { status: 401, body: { code: "invalid_code", detail: "Wrong code; 4 attempts left.", reason: "wrong", attempts_left: 4 } };
const steppedUp = { status: 200, body: { id: "s1", state: "active", stepped_up_at: new Date().toISOString() } };

describe("the step-up", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/account");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks for a fresh code inline, then carries out the change it held back, once", async () => {
    const { calls } = fakeApi({
      ...PAGE,
      "POST /api/auth/totp/setup": inTurn(stepUpRequired(), { status: 200, body: SETUP }),
      "POST /api/auth/step-up/verify": inTurn(wrongCode, steppedUp),
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await user.click(await screen.findByTestId("totp-setup"));
    const dialog = await screen.findByTestId("step-up-dialog");
    expect(within(dialog).getByTestId("step-up-destination")).toHaveTextContent("We sent a 6-digit code to a***e@example.com");
    const code = within(dialog).getByTestId("step-up-code");
    expect(code).toHaveAttribute("data-bbauth-ignore");

    await user.type(code, "111111");
    await user.click(within(dialog).getByTestId("step-up-submit"));
    expect(await within(dialog).findByText("That code is wrong. 4 tries left.")).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/auth/totp/setup")).toHaveLength(1);

    await user.type(code, "222222");
    await user.click(within(dialog).getByTestId("step-up-submit"));
    expect(await screen.findByTestId("totp-qr")).toHaveAttribute("src", QR);
    await waitFor(() => expect(screen.queryByTestId("step-up-dialog")).toBeNull());

    expect(calls.filter((c) => c.method === "POST").map((c) => [c.path, c.body])).toEqual([
      ["/api/auth/totp/setup", {}],
      ["/api/auth/step-up/verify", { code: "111111" }],
      ["/api/auth/step-up/verify", { code: "222222" }],
      ["/api/auth/totp/setup", {}],
    ]);
    // Asking for a code is not losing the session.
    expect(sessionStorage.getItem("bbauth.session")).not.toBeNull();
    expect(window.location.pathname).toBe("/account");
  });

  it("asks for the authenticator app's code when the account uses one, with no resend", async () => {
    fakeApi({
      ...PAGE,
      "POST /api/auth/totp/setup": stepUpRequired({ ...STEP_UP_CHALLENGE, channel: "totp", destination: "authenticator app" }),
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("totp-setup"));
    expect(await screen.findByTestId("step-up-destination")).toHaveTextContent("authenticator app");
    expect(screen.queryByTestId("step-up-resend")).toBeNull();
  });

  it("sends a new code on request", async () => {
    const { calls } = fakeApi({
      ...PAGE,
      "POST /api/auth/totp/setup": stepUpRequired(),
      "POST /api/auth/step-up/resend": { status: 200, body: { ...STEP_UP_CHALLENGE, resends_left: 2 } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("totp-setup"));
    await user.click(await screen.findByTestId("step-up-resend"));
    expect(await screen.findByText(/A new code is on its way to a\*\*\*e@example.com/)).toBeInTheDocument();
    expect(screen.getByTestId("step-up-resend")).toHaveTextContent("2 left");
    expect(calls.filter((c) => c.path === "/api/auth/step-up/resend")).toHaveLength(1);
  });

  it("leaves everything as it was when cancelled", async () => {
    const { calls } = fakeApi({ ...PAGE, "POST /api/auth/totp/setup": stepUpRequired() });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("totp-setup"));
    await user.click(await screen.findByTestId("step-up-cancel"));
    expect(await screen.findByTestId("totp-error")).toHaveTextContent("Nothing was changed");
    await waitFor(() => expect(screen.queryByTestId("step-up-dialog")).toBeNull());
    expect(calls.filter((c) => c.path === "/api/auth/totp/setup")).toHaveLength(1);
    expect(screen.queryByTestId("totp-qr")).toBeNull();
  });

  it("stops asking when one-time codes are locked", async () => {
    fakeApi({
      ...PAGE,
      "POST /api/auth/totp/setup": stepUpRequired(),
      "POST /api/auth/step-up/verify": {
        status: 403,
        body: { code: "codes_locked", detail: "Too many wrong codes: codes are locked. Use the link we emailed you." },
      },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("totp-setup"));
    await user.type(await screen.findByTestId("step-up-code"), "123456");
    await user.click(screen.getByTestId("step-up-submit"));
    expect(await screen.findByText(/codes are locked/)).toBeInTheDocument();
    expect(screen.getByTestId("step-up-code")).toBeDisabled();
    expect(screen.getByTestId("step-up-submit")).toBeDisabled();
  });
});
