import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { accessTokenHash, testDpopKey, verifiedProof } from "../test/dpop";
import { ALICE, fakeApi, inTurn, signedIn, STEP_UP_CHALLENGE, stepUpRequired } from "../test/fakeApi";
import { renderApp } from "../test/renderApp";
import { mockSocketFactory, type MockSocket } from "../test/mockSocket";

const RECEIPT = { reference: "PAY-1A2B3C4D", payee: "ACME Ltd", amount_cents: 1250, approved_at: "2031-03-04T09:00:00Z" };
const THRESHOLDS = { challenge_below: 50, high_at: 70, low_at: 25, evidence_max_age_s: 120 };
const steppedUp = { status: 200, body: { id: "s1", state: "active", stepped_up_at: new Date().toISOString() } };

/** The server's greeting: a session whose last evidence is older than the maximum age. */
function greetUnverified(socket: MockSocket) {
  act(() => {
    socket.serverSends("connect");
    socket.serverSends("status", {
      session_id: "s1",
      state: "active",
      trust: { score: 75, level: "high", windows: 3, verified: false, evidence_age_s: 600 },
      history: [],
      model_versions: { keystroke: 1, mouse: 1 },
      thresholds: THRESHOLDS,
    });
  });
}

async function fillPayment(user: ReturnType<typeof userEvent.setup>, payee: string, amount: string) {
  await user.type(screen.getByTestId("payment-payee"), payee);
  await user.type(screen.getByTestId("payment-amount"), amount);
  await user.click(screen.getByTestId("payment-submit"));
}

describe("approving a payment", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/work");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks for a code when trust is stale, then approves the payment it held back and shows the receipt", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "POST /api/demo/payments": inTurn(stepUpRequired(), { status: 201, body: RECEIPT }),
      "POST /api/auth/step-up/verify": steppedUp,
    });
    const dpop = testDpopKey();
    await dpop.bind("POST", "/api/auth/otp/verify");
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} dpop={dpop} />);
    greetUnverified(sockets[0]);
    expect(screen.getByTestId("trust-freshness")).toHaveTextContent("Unverified — no recent typing or pointer use");

    await fillPayment(user, "ACME Ltd", "12.50");
    const dialog = await screen.findByTestId("step-up-dialog");
    expect(within(dialog).getByTestId("step-up-why")).toHaveTextContent("Approving a payment needs you at the controls");
    expect(screen.queryByTestId("payment-receipt")).toBeNull();
    await user.type(within(dialog).getByTestId("step-up-code"), "123456");
    await user.click(within(dialog).getByTestId("step-up-submit"));

    const receipt = await screen.findByTestId("payment-receipt");
    expect(receipt).toHaveAttribute("data-reference", "PAY-1A2B3C4D");
    expect(receipt).toHaveTextContent("12.50 to ACME Ltd");
    const payments = calls.filter((c) => c.path === "/api/demo/payments");
    expect(payments.map((c) => c.body)).toEqual([
      { payee: "ACME Ltd", amount_cents: 1250 },
      { payee: "ACME Ltd", amount_cents: 1250 },
    ]);
    // Each attempt carries its own proof of the session's key.
    const proofs = await Promise.all(payments.map((c) => verifiedProof(c.headers.DPoP)));
    expect(proofs.map((p) => p.claims.ath)).toEqual([accessTokenHash("tok-123"), accessTokenHash("tok-123")]);
    expect(proofs[1].claims.jti).not.toBe(proofs[0].claims.jti);
    // The code is evidence too: the panel is verified again.
    expect(screen.getByTestId("trust-freshness")).toHaveAttribute("data-verified", "true");
  });

  it("goes through at once when the server finds trust fresh and high", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "POST /api/demo/payments": { status: 201, body: { ...RECEIPT, payee: "Bob", amount_cents: 99_900 } },
    });
    const user = userEvent.setup();
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    await fillPayment(user, "Bob", "999");
    expect(await screen.findByTestId("payment-receipt")).toHaveTextContent("999.00 to Bob");
    expect(screen.queryByTestId("step-up-dialog")).toBeNull();
    expect(calls.filter((c) => c.path === "/api/demo/payments").map((c) => c.body)).toEqual([{ payee: "Bob", amount_cents: 99_900 }]);
  });

  it("approves nothing when the code is not given", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "POST /api/demo/payments": stepUpRequired(),
    });
    const user = userEvent.setup();
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    await fillPayment(user, "ACME Ltd", "5");
    await user.click(await screen.findByTestId("step-up-cancel"));
    expect(await screen.findByTestId("payment-error")).toHaveTextContent("Not approved: the payment needs a one-time code first.");
    expect(calls.filter((c) => c.path === "/api/demo/payments")).toHaveLength(1);
  });

  it.each([
    ["12.345", "An amount such as 1250.75"],
    ["1,250", "An amount such as 1250.75"],
    ["0", "More than zero"],
    ["1000000.01", "At most"],
  ])("refuses the amount %s before asking the server", async (amount, message) => {
    const { calls } = fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    const user = userEvent.setup();
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    await fillPayment(user, "ACME Ltd", amount);
    expect(await screen.findByText(new RegExp(message))).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/demo/payments")).toHaveLength(0);
  });
});

describe("learning that waits for a verified session", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/work");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks the person to confirm it's them, sends the code on request, and goes on once it is entered", async () => {
    const { calls } = fakeApi({
      "GET /api/auth/me": { status: 200, body: ALICE },
      "GET /api/auth/step-up": { status: 200, body: STEP_UP_CHALLENGE },
      "POST /api/auth/step-up/verify": steppedUp,
    });
    const { factory, sockets } = mockSocketFactory();
    const user = userEvent.setup();
    await renderApp(<App socketFactory={factory} />);
    const progress = {
      keystroke: { samples: 12, needed: 40, ratio: 0.3, trained: false },
      mouse: { samples: 0, needed: 200, ratio: 0, trained: false },
    };
    act(() => {
      sockets[0].serverSends("connect");
      sockets[0].serverSends("enrollment", { mode: "enrollment", progress, paused: "verify" });
    });
    const paused = screen.getByTestId("enrollment-paused");
    expect(paused).toHaveTextContent("Learning paused — confirm it's you to continue");
    expect(calls.filter((c) => c.path === "/api/auth/step-up")).toHaveLength(0); // no code until asked

    await user.click(within(paused).getByTestId("enrollment-verify"));
    const dialog = await screen.findByTestId("step-up-dialog");
    await waitFor(() => expect(within(dialog).getByTestId("step-up-destination")).toHaveTextContent("a***e@example.com"));
    expect(within(dialog).getByTestId("step-up-why")).toHaveTextContent("learning goes on by itself");
    expect(calls.filter((c) => c.path === "/api/auth/step-up")).toHaveLength(1);
    await user.type(within(dialog).getByTestId("step-up-code"), "123456");
    await user.click(within(dialog).getByTestId("step-up-submit"));

    await waitFor(() => expect(screen.queryByTestId("step-up-dialog")).toBeNull());
    expect(screen.queryByTestId("enrollment-paused")).toBeNull();
    expect(calls.filter((c) => c.method === "POST").map((c) => [c.path, c.body])).toEqual([
      ["/api/auth/step-up/verify", { code: "123456" }],
    ]);
    act(() => sockets[0].serverSends("enrollment", { mode: "enrollment", progress: { ...progress, keystroke: { ...progress.keystroke, samples: 13 } } }));
    expect(screen.getByTestId("enroll-keystroke")).toHaveTextContent("13 / 40 windows");
  });
});

describe("the Work page without a mouse", () => {
  beforeEach(() => {
    signedIn();
    window.history.replaceState(null, "", "/work");
  });
  afterEach(() => vi.unstubAllGlobals());

  it("lets the file be moved and dropped by keyboard, and says where it is", async () => {
    fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    const user = userEvent.setup();
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    const file = await screen.findByRole("button", { name: "report.pdf" });
    expect(file).toHaveAccessibleDescription(/move it with the arrow keys, then press Enter/);
    expect(screen.getByTestId("drag-status")).toHaveAttribute("role", "status");
    file.focus();
    await user.keyboard("{ArrowRight}{ArrowRight}{Enter}");
    expect(screen.getByTestId("drag-status")).toHaveTextContent("(1 moves)");
  });

  it("has one h1 inside the main landmark, and a trust summary for phones", async () => {
    fakeApi({ "GET /api/auth/me": { status: 200, body: ALICE } });
    await renderApp(<App socketFactory={mockSocketFactory().factory} />);
    const main = await screen.findByRole("main");
    expect(within(main).getAllByRole("heading", { level: 1 }).map((h) => h.textContent)).toEqual(["Work"]);
    expect(screen.getByRole("complementary", { name: "Trust summary" })).toHaveTextContent("Connecting…");
  });
});
