import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ALICE, fakeApi, signedIn } from "../test/fakeApi";
import { mockSocketFactory } from "../test/mockSocket";

const QR = "data:image/png;base64,iVBORw0KGgo=";
const BEHAVIOR = {
  user_id: "u-alice",
  email: "alice@example.com",
  mode: "enrollment",
  last_trained_at: null,
  keystroke: { version: null, samples: 3, needed: 20, eer: null },
  mouse: { version: null, samples: 10, needed: 200, eer: null },
};

describe("the account page", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/account");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("sets up the authenticator app from its QR code and a first code, then turns it off", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/behavior/me": { status: 200, body: BEHAVIOR },
      "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
      "POST /api/auth/totp/setup": { status: 200, body: { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/x", qr_png: QR } },
      "POST /api/auth/totp/confirm": { status: 200, body: { ...ALICE, totp_enabled: true } },
      "POST /api/auth/totp/disable": { status: 200, body: { ...ALICE, totp_enabled: false } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await user.click(await screen.findByTestId("totp-setup"));
    expect(await screen.findByTestId("totp-qr")).toHaveAttribute("src", QR);
    expect(screen.getByTestId("totp-secret")).toHaveTextContent("JBSWY3DPEHPK3PXP");
    const code = screen.getByTestId("totp-code");
    expect(code).toHaveAttribute("data-bbauth-nocapture");
    await user.type(code, "123456");
    await user.click(screen.getByRole("button", { name: "Turn on" }));
    expect(await screen.findByText(/Authenticator app is on/)).toBeInTheDocument();
    expect(JSON.parse(sessionStorage.getItem("bbauth.session")!).user.totp_enabled).toBe(true);

    await user.type(screen.getByTestId("totp-disable-code"), "654321");
    await user.click(screen.getByRole("button", { name: "Turn off" }));
    expect(await screen.findByText(/codes go by email again/)).toBeInTheDocument();
    expect(calls.filter((c) => c.path.startsWith("/api/auth/totp/")).map((c) => [c.path, c.body])).toEqual([
      ["/api/auth/totp/setup", {}],
      ["/api/auth/totp/confirm", { code: "123456" }],
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
});
