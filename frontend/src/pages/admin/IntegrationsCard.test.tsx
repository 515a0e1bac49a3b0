import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { ADMIN, fakeApi, inTurn, signedIn, stepUpRequired } from "../../test/fakeApi";
import { mockSocketFactory } from "../../test/mockSocket";

const SHOP = {
  id: "5b1c2d3e-4f50-4a61-8b72-93a4b5c6d7e8",
  name: "shop",
  key_prefix: "bbk_0123456789abcdef",
  scopes: ["sessions:read", "webhooks"],
  webhook_url: "https://shop.example/hooks",
  created_at: "2031-03-04T09:00:05Z",
  last_used_at: null,
  revoked_at: null,
  secret_rotated_at: null,
  delivered: 12,
  dropped: 1,
  queued: 2,
};
const API_KEY = "bbk_0123456789abcdef_s3cr3t-part-of-the-key";
const WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const LIST = "GET /api/admin/integrations";

const routes = {
  "GET /api/auth/me": { status: 200, body: ADMIN },
  "GET /api/admin/behavior": { status: 200, body: { users: [] } },
  "GET /api/admin/users": { status: 200, body: { users: [], total: 0 } },
};

function card(): HTMLElement {
  return screen.getByTestId("integrations-table").closest(".MuiPaper-root") as HTMLElement;
}

describe("the integrations on the security dashboard", () => {
  beforeEach(() => {
    signedIn(ADMIN);
    window.history.replaceState(null, "", "/admin");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("lists each key by its prefix, with its scopes, webhook deliveries and last use", async () => {
    fakeApi({ ...routes, [LIST]: { status: 200, body: { integrations: [SHOP, { ...SHOP, id: "x", name: "old", revoked_at: "2031-03-04T10:00:00Z" }] } } });
    render(<App socketFactory={mockSocketFactory().factory} />);

    const [shop, old] = await screen.findAllByTestId("integration-row");
    expect(shop).toHaveTextContent("bbk_0123456789abcdef…");
    expect(shop).toHaveTextContent("sessions:read");
    expect(within(shop).getByTestId("integration-deliveries")).toHaveTextContent("12 delivered · 2 queued · 1 dropped");
    expect(shop).toHaveTextContent("never used");
    expect(within(old).getByTestId("integration-revoked")).toHaveTextContent("Revoked");
    expect(within(old).getByTestId("integration-revoke")).toBeDisabled();
  });

  it("creates a key after the administrator's fresh code and shows its secrets once, with copy buttons", async () => {
    const { calls } = fakeApi({
      ...routes,
      [LIST]: inTurn({ status: 200, body: { integrations: [] } }, { status: 200, body: { integrations: [SHOP] } }),
      "POST /api/admin/integrations": inTurn(stepUpRequired(), {
        status: 201,
        body: { integration: SHOP, api_key: API_KEY, webhook_secret: WEBHOOK_SECRET },
      }),
      "POST /api/auth/step-up/verify": { status: 200, body: { id: "s1", state: "active" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByText("No integration yet.")).toBeInTheDocument();

    await user.type(screen.getByLabelText(/^name/i), "shop");
    expect(screen.getByLabelText(/webhook url/i)).toBeDisabled();
    await user.click(screen.getByLabelText(/session events/i));
    await user.click(screen.getByLabelText(/webhook url/i));
    await user.paste("https://shop.example/hooks");
    await user.click(screen.getByTestId("integration-create"));
    await user.type(await screen.findByTestId("step-up-code"), "123456");
    await user.click(screen.getByTestId("step-up-submit"));

    const shown = await screen.findByTestId("integration-secret");
    expect(within(shown).getByTestId("integration-api-key")).toHaveTextContent(API_KEY);
    expect(within(shown).getByTestId("integration-webhook-secret")).toHaveTextContent(WEBHOOK_SECRET);
    await user.click(within(shown).getByTestId("integration-api-key-copy"));
    expect(await navigator.clipboard.readText()).toBe(API_KEY);
    expect(within(shown).getByTestId("integration-api-key-copy")).toHaveTextContent("Copied");
    const creates = calls.filter((c) => c.method === "POST" && c.path === "/api/admin/integrations");
    expect(creates.map((c) => c.body)).toEqual(
      Array(2).fill({ name: "shop", scopes: ["sessions:read", "webhooks"], webhook_url: "https://shop.example/hooks" }),
    );
    expect(await screen.findByTestId("integration-row")).toHaveAttribute("data-name", "shop");

    // The step-up dialog hides the page from assistive technology until it has closed.
    await user.click(await within(shown).findByRole("button", { name: /close/i }));
    expect(screen.queryByTestId("integration-secret")).toBeNull();
    expect(card()).not.toHaveTextContent(API_KEY);
  });

  it("sends no webhook URL for a key that only reads sessions", async () => {
    const { calls } = fakeApi({
      ...routes,
      [LIST]: { status: 200, body: { integrations: [] } },
      "POST /api/admin/integrations": { status: 201, body: { integration: { ...SHOP, scopes: ["sessions:read"], webhook_url: null }, api_key: API_KEY, webhook_secret: null } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.type(await screen.findByLabelText(/^name/i), "reports");
    await user.click(screen.getByTestId("integration-create"));

    const shown = await screen.findByTestId("integration-secret");
    expect(within(shown).getByTestId("integration-api-key")).toHaveTextContent(API_KEY);
    expect(within(shown).queryByTestId("integration-webhook-secret")).toBeNull();
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "reports", scopes: ["sessions:read"] });
  });

  it("revokes a key after a confirmation", async () => {
    const { calls } = fakeApi({
      ...routes,
      [LIST]: inTurn({ status: 200, body: { integrations: [SHOP] } }, { status: 200, body: { integrations: [{ ...SHOP, revoked_at: "2031-03-04T10:00:00Z" }] } }),
      [`POST /api/admin/integrations/${SHOP.id}/revoke`]: { status: 200, body: { ...SHOP, revoked_at: "2031-03-04T10:00:00Z" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(within(await screen.findByTestId("integration-row")).getByTestId("integration-revoke"));
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Revoke" }));

    expect(await screen.findByTestId("integration-revoked")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual([`/api/admin/integrations/${SHOP.id}/revoke`]);
  });

  it("replaces a webhook secret and shows the new one once", async () => {
    fakeApi({
      ...routes,
      [LIST]: { status: 200, body: { integrations: [SHOP] } },
      [`POST /api/admin/integrations/${SHOP.id}/webhook-secret`]: { status: 200, body: { integration: SHOP, webhook_secret: "whsec_new" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.click(within(await screen.findByTestId("integration-row")).getByTestId("integration-rotate"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Replace" }));

    const shown = await screen.findByTestId("integration-secret");
    expect(within(shown).getByTestId("integration-webhook-secret")).toHaveTextContent("whsec_new");
    expect(within(shown).queryByTestId("integration-api-key")).toBeNull();
  });

  it("says why a key could not be created", async () => {
    fakeApi({
      ...routes,
      [LIST]: { status: 200, body: { integrations: [] } },
      "POST /api/admin/integrations": { status: 422, body: { type: "urn:bbauth:problem:validation_failed", title: "The request is not valid", status: 422, detail: "One or more fields are missing or have the wrong type.", code: "validation_failed" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    await user.type(await screen.findByLabelText(/^name/i), "x");
    await user.click(screen.getByTestId("integration-create"));

    expect(await screen.findByTestId("integrations-error")).toBeInTheDocument();
    expect(screen.queryByTestId("integration-secret")).toBeNull();
  });
});
