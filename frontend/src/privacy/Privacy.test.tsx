import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { ALICE, CONSENTED, NOT_CONSENTED, fakeApi, inTurn, signedIn, stepUpRequired } from "../test/fakeApi";
import { firstSocket, mockSocketFactory } from "../test/mockSocket";
import { renderApp } from "../test/renderApp";
import { CONSENT_VERSION } from "./consentText";

const BEHAVIOR = {
  user_id: "u-alice",
  email: "alice@example.com",
  mode: "verification",
  last_trained_at: null,
  keystroke: { version: 1, samples: 20, needed: 20, eer: null },
  mouse: { version: null, samples: 10, needed: 200, eer: null },
};
const ACCOUNT = {
  "GET /api/auth/me": { status: 200, body: ALICE },
  "GET /api/behavior/me": { status: 200, body: BEHAVIOR },
  "GET /api/sessions": { status: 200, body: { sessions: [], total: 0 } },
  "GET /api/account/notices": { status: 200, body: { notices: [] } },
  "POST /api/auth/step-up/verify": { status: 200, body: { id: "s1", state: "active" } },
};
const EXPORT = {
  exported_at: "2026-12-06T05:00:00Z",
  user_id: "u-alice",
  email: "alice@example.com",
  consent: CONSENTED,
  profile: null,
  feature_names: { keystroke: ["hold_mean"], mouse: ["speed_mean"] },
  samples: [{ modality: "keystroke", schema_version: 2, features: [0.1], created_at: "2026-12-06T04:00:00Z" }],
  models: [{ modality: "keystroke", version: 1 }],
  fingerprints: [],
};

/** A blob's text (jsdom's Blob has no `text()`). */
function textOf(blob: Blob): Promise<string> {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.readAsText(blob);
  });
}

async function answerStepUp(user: ReturnType<typeof userEvent.setup>) {
  await user.type(await screen.findByTestId("step-up-code"), "123456");
  await user.click(screen.getByTestId("step-up-submit"));
}

describe("the consent step", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/work");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("comes before capture: nothing is captured until the person agrees", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/privacy/consent": { status: 200, body: NOT_CONSENTED },
      "POST /api/privacy/consent": { status: 200, body: CONSENTED },
    });
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} />);

    const step = await screen.findByTestId("consent-step");
    for (const heading of ["What is collected", "Why", "How long it is kept", "Who sees what"]) {
      expect(within(step).getByRole("heading", { name: heading })).toBeInTheDocument();
    }
    expect(within(step).getByTestId("consent-privacy-link")).toHaveAttribute("href", "/privacy");
    expect(sockets).toHaveLength(0);

    await user.click(within(step).getByTestId("consent-agree"));

    const socket = await firstSocket(sockets);
    expect((await socket.handshake()).token).toBe("tok-123");
    await waitFor(() => expect(screen.queryByTestId("consent-step")).toBeNull());
    expect(calls.find((c) => c.method === "POST" && c.path === "/api/privacy/consent")?.body).toEqual({
      version: CONSENT_VERSION,
    });
  });

  it("can wait: with Not now nothing is captured and the step is not shown again in this tab", async () => {
    fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/privacy/consent": { status: 200, body: NOT_CONSENTED },
    });
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    const { unmount } = await renderApp(<App socketFactory={factory} />);

    await user.click(await screen.findByTestId("consent-later"));
    await waitFor(() => expect(screen.queryByTestId("consent-step")).toBeNull());
    unmount();
    await renderApp(<App socketFactory={factory} />);
    await act(async () => undefined);

    expect(screen.queryByTestId("consent-step")).toBeNull();
    expect(sockets).toHaveLength(0);
  });
});

describe("privacy on the account page", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/account");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("withdraws consent after a confirmation and a fresh code, and capture stops", async () => {
    const { calls } = fakeApi({
      ...ACCOUNT,
      "DELETE /api/privacy/consent": inTurn(stepUpRequired(), { status: 200, body: NOT_CONSENTED }),
    });
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    render(<App socketFactory={factory} />);
    const socket = await firstSocket(sockets);
    act(() => socket.serverSends("connect"));
    expect(await screen.findByTestId("consent-state")).toHaveTextContent("Behavioural checking is on");

    await user.click(screen.getByTestId("consent-withdraw"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Withdraw" }));
    await answerStepUp(user);

    expect(await screen.findByTestId("privacy-done")).toHaveTextContent("Consent withdrawn");
    expect(screen.getByTestId("consent-state")).toHaveTextContent("Behavioural checking is off");
    await waitFor(() => expect(socket.disconnectCalls).toBeGreaterThan(0));
    expect(calls.filter((c) => c.method === "DELETE" && c.path === "/api/privacy/consent")).toHaveLength(2);
    expect(screen.queryByTestId("consent-step")).toBeNull(); // not asked again right away
    expect(screen.getByTestId("consent-give")).toBeInTheDocument();
  });

  it("downloads the behavioural data as JSON after a fresh code", async () => {
    fakeApi({ ...ACCOUNT, "GET /api/privacy/behavior": inTurn(stepUpRequired(), { status: 200, body: EXPORT }) });
    const created = vi.fn((blob: Blob) => (void blob, "blob:export"));
    const { createObjectURL, revokeObjectURL } = URL;
    Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() });
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await user.click(await screen.findByTestId("behavior-export"));
    await answerStepUp(user);

    expect(await screen.findByTestId("privacy-done")).toHaveTextContent("Downloaded: 1 samples, 1 model versions.");
    expect(clicked).toHaveBeenCalledTimes(1);
    const link = clicked.mock.contexts[0] as HTMLAnchorElement;
    expect(link.download).toBe("bbauth-behavior-2026-12-06.json");
    const blob = created.mock.calls[0][0];
    expect(blob.type).toBe("application/json");
    expect(JSON.parse(await textOf(blob))).toEqual(EXPORT);
    clicked.mockRestore();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
  });

  it("deletes the behavioural data after a confirmation and a fresh code", async () => {
    const { calls } = fakeApi({
      ...ACCOUNT,
      "DELETE /api/privacy/behavior": inTurn(stepUpRequired(), {
        status: 200,
        body: { samples: 20, fingerprints: 3, model_files: 2, profile: true },
      }),
    });
    const user = userEvent.setup();
    render(<App socketFactory={mockSocketFactory().factory} />);

    await user.click(await screen.findByTestId("behavior-erase"));
    expect(calls.filter((c) => c.path === "/api/privacy/behavior")).toHaveLength(0);
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Delete" }));
    await answerStepUp(user);

    expect(await screen.findByTestId("privacy-done")).toHaveTextContent(
      "Deleted 20 samples, 3 fingerprints and 2 model files. bbauth learns your behaviour again from scratch.",
    );
    expect(calls.filter((c) => c.method === "DELETE" && c.path === "/api/privacy/behavior")).toHaveLength(2);
  });
});

describe("what bbauth collects", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is open to anyone and linked from the login page", async () => {
    fakeApi({});
    window.history.replaceState(null, "", "/login");
    const { unmount } = await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    expect(await screen.findByTestId("login-privacy-link")).toHaveAttribute("href", "/privacy");
    unmount();

    window.history.replaceState(null, "", "/privacy");
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);

    expect(await screen.findByRole("heading", { level: 1, name: "What bbauth collects" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "What the server never sees" })).toBeInTheDocument();
    expect(window.location.pathname).toBe("/privacy");
  });
});
