import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ALICE, fakeApi, signedIn } from "../test/fakeApi";
import { mockSocketFactory } from "../test/mockSocket";

const TOKEN = "link-token-0123456789abcdef";

function openLink(page: "secure" | "unlock", token = TOKEN) {
  window.history.replaceState(null, "", `/account/${page}?token=${token}`);
}

describe("the pages of security-notice links", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("explain what will happen and change nothing until the button is pressed", async () => {
    openLink("secure");
    const { calls, fetchMock } = fakeApi({
      "POST /api/account/links": { status: 200, body: { action: "secured", revoked_sessions: 3 } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    expect(await screen.findByText("Was this change not yours?")).toBeInTheDocument();
    expect(screen.getByText(/sign out every session of your account/)).toBeInTheDocument();
    expect(window.location.pathname).toBe("/account/secure"); // no sign-in needed
    await new Promise((r) => setTimeout(r, 50));
    expect(fetchMock).not.toHaveBeenCalled();

    await user.click(screen.getByTestId("link-act"));
    expect(await screen.findByTestId("link-result")).toHaveTextContent("3 sessions were signed out");
    expect(calls.map((c) => [c.method, c.path, c.body, c.headers.Authorization])).toEqual([
      ["POST", "/api/account/links", { token: TOKEN }, undefined],
    ]);

    await user.click(screen.getByRole("button", { name: "Sign in again" }));
    expect(await screen.findByTestId("login-submit")).toBeInTheDocument();
  });

  it("drop this tab's own session too once the account is secured", async () => {
    signedIn();
    openLink("secure");
    fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "POST /api/account/links": { status: 200, body: { action: "secured", revoked_sessions: 1 } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("link-act"));
    await user.click(await screen.findByRole("button", { name: "Sign in again" }));
    expect(await screen.findByTestId("login-notice")).toHaveTextContent("Every session of your account was signed out.");
    expect(sessionStorage.getItem("bbauth.session")).toBeNull();
  });

  it("unlock one-time codes on request", async () => {
    openLink("unlock");
    const { calls } = fakeApi({ "POST /api/account/links": { status: 200, body: { action: "unlocked", revoked_sessions: 0 } } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByRole("heading", { name: "Unlock one-time codes" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Unlock codes" }));
    expect(await screen.findByTestId("link-result")).toHaveTextContent("One-time codes work again");
    expect(calls).toHaveLength(1);
  });

  it("say that a used or expired link did nothing", async () => {
    openLink("secure");
    fakeApi({ "POST /api/account/links": { status: 401, body: { code: "challenge_closed", detail: "This link was used already." } } });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(await screen.findByTestId("link-act"));
    expect(await screen.findByTestId("link-error")).toHaveTextContent("used already or has expired. Nothing was changed.");
    expect(screen.queryByTestId("link-result")).toBeNull();
  });

  it("cannot act on a link without its token", async () => {
    window.history.replaceState(null, "", "/account/secure");
    fakeApi({});
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByText(/This link is incomplete/)).toBeInTheDocument();
    expect(screen.getByTestId("link-act")).toBeDisabled();
  });
});
