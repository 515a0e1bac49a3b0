import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { ADMIN, ALICE, fakeApi, inTurn, signedIn, stepUpRequired } from "../../test/fakeApi";
import { mockSocketFactory } from "../../test/mockSocket";

const OWNER = { ...ALICE, id: "3f2a1b0c-1111-4222-8333-944455566677", failed_logins: 0, locked_until: null, failed_codes: 0, active_sessions: 1 };
const MODELS = `/api/admin/users/${OWNER.id}/models`;

function version(v: number, status: string, reason: string) {
  return { modality: "keystroke", version: v, status, reason, evaluation: {}, shadow_windows: 0, created_at: null, decided_at: null };
}

const routes = {
  "GET /api/auth/me": { status: 200, body: ADMIN },
  "GET /api/admin/behavior": { status: 200, body: { users: [] } },
  "GET /api/admin/integrations": { status: 200, body: { integrations: [] } },
  "GET /api/admin/users": { status: 200, body: { users: [OWNER], total: 1 } },
};

describe("model versions on the security dashboard", () => {
  beforeEach(() => {
    signedIn(ADMIN);
    window.history.replaceState(null, "", "/admin");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("lists a user's versions with why each was kept, and serves a kept one after a fresh code", async () => {
    const { calls } = fakeApi({
      ...routes,
      [`GET ${MODELS}`]: { status: 200, body: { versions: [version(2, "serving", "promoted: not worse live"), version(1, "kept", "replaced by v2")] } },
      [`POST ${MODELS}/keystroke/rollback`]: inTurn(stepUpRequired(), {
        status: 200,
        body: { versions: [version(2, "kept", "replaced by v1"), version(1, "serving", "rolled back by root@example.com")] },
      }),
      "POST /api/auth/step-up/verify": { status: 200, body: { id: "s1", state: "active" } },
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);
    const card = await screen.findByTestId("model-versions");

    await user.click(within(card).getByRole("combobox"));
    await user.click(await screen.findByRole("option", { name: OWNER.email }));
    const [serving, kept] = await within(card).findAllByTestId("model-row");
    expect(serving).toHaveAttribute("data-status", "serving");
    expect(within(serving).getByTestId("model-serve")).toBeDisabled();
    expect(kept).toHaveTextContent("replaced by v2");
    await user.click(within(kept).getByTestId("model-serve"));
    await user.click(await screen.findByRole("button", { name: "Serve" }));
    await user.type(await screen.findByTestId("step-up-code"), "123456");
    await user.click(screen.getByTestId("step-up-submit"));

    expect(await within(card).findByTestId("model-outcome")).toHaveTextContent("v1 serves now");
    const rollbacks = calls.filter((c) => c.method === "POST" && c.path.endsWith("/rollback"));
    expect(rollbacks.map((c) => c.body)).toEqual([{ version: 1 }, { version: 1 }]);
    expect(within(card).getAllByTestId("model-row")[1]).toHaveAttribute("data-status", "serving");
  });
});
