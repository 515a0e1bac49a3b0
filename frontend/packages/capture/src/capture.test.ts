import { fireEvent } from "@testing-library/dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { byTestId, page, setVisibility } from "../test/dom";
import { mockSocketFactory, refused, type MockSocket } from "../test/mockSocket";
import { start, type Capture, type StartOptions } from "./capture";
import table from "../../../src/contract/keyclasses.json";
import type { WireEvent } from "./events";

const trust = (score: number, level = "high") => ({ score, level, windows: 1, verified: true, evidence_age_s: 3 });

let clock = 0;
let running: Capture[] = [];

function begin(extra: Partial<StartOptions> = {}) {
  const { factory, sockets } = mockSocketFactory();
  const capture = start({ token: "tok", socketFactory: factory, overlay: false, now: () => (clock += 10), ...extra });
  running.push(capture);
  return { capture, socket: sockets[0] };
}

/** Every event the server received, in order, from every "input" message. */
const received = (socket: MockSocket) => socket.emits("input").flatMap((e) => (e.args[0] as { events: WireEvent[] }).events);

describe("The capture SDK", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
    page(`<textarea data-testid="notes"></textarea>
      <input data-testid="password" type="password">
      <input data-testid="otp" autocomplete="one-time-code">
      <section data-bbauth-ignore><input data-testid="card"></section>`);
  });
  afterEach(() => {
    for (const capture of running) capture.stop();
    running = [];
    vi.useRealTimers();
    setVisibility("visible");
  });

  it("opens the person's namespace with the session's token", async () => {
    const { socket } = begin();
    expect(socket.namespace).toBe("/");
    expect(await socket.handshake()).toEqual({ token: "tok" });
  });

  it("talks to bbauth on another origin when told, proofs naming that origin", async () => {
    const dpop = vi.fn(async () => "proof");
    const { socket } = begin({ origin: "https://bbauth.example", dpop });
    expect(socket.namespace).toBe("https://bbauth.example/");
    expect(await socket.handshake()).toEqual({ token: "tok", dpop: "proof" });
    expect(dpop).toHaveBeenCalledWith("GET", "https://bbauth.example/socket.io/", "tok");
  });

  it("asks the DPoP function for a fresh proof at every connect and reconnect", async () => {
    let n = 0;
    const dpop = vi.fn(async () => `proof-${++n}`);
    const { socket } = begin({ dpop });
    expect(await socket.handshake()).toEqual({ token: "tok", dpop: "proof-1" });
    expect(await socket.handshake()).toEqual({ token: "tok", dpop: "proof-2" });
  });

  it("streams what is typed as one input message every 250 ms, never secrets", () => {
    const { socket } = begin();
    socket.serverSends("connect");
    fireEvent.keyDown(byTestId("notes"), { code: "KeyH" });
    fireEvent.keyDown(byTestId("password"), { code: "KeyP" });
    fireEvent.keyDown(byTestId("otp"), { code: "Digit1" });
    fireEvent.keyDown(byTestId("card"), { code: "Digit4" });
    fireEvent.keyUp(byTestId("notes"), { code: "KeyH" });
    vi.advanceTimersByTime(249);
    expect(socket.emits("input")).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(socket.emits("input")).toHaveLength(1);
    expect(received(socket)).toEqual([
      { t: 10, type: "down", key: "R_home.2" },
      { t: 50, type: "up", key: "R_home.2" },
    ]);
  });

  it("never sends a character or a key code: every key of the keyboard leaves the page as its class", () => {
    const { socket } = begin();
    socket.serverSends("connect");
    const codes = Object.keys(table.codes).concat(["ArrowLeft", "F5", "Numpad7", "Escape"]);
    const chars = "Typed text: Hello, World! 12345";
    codes.forEach((code, i) => {
      const key = chars[i % chars.length];
      fireEvent.keyDown(byTestId("notes"), { code, key });
      fireEvent.keyUp(byTestId("notes"), { code, key });
    });
    vi.advanceTimersByTime(250);
    const events = received(socket);
    expect(events).toHaveLength(2 * codes.length);
    const sent = JSON.stringify(socket.emits("input").map((e) => e.args));
    for (const code of codes) expect(sent).not.toContain(`"${code}"`);
    for (const word of ["code", "Typed", "Hello", "World", "12345"]) expect(sent).not.toContain(word);
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(expect.arrayContaining(["key", "t", "type"]));
      expect(Object.keys(event).every((k) => ["t", "type", "key", "slot", "same"].includes(k))).toBe(true);
      expect(table.classes).toContain((event as { key: string }).key);
    }
  });

  it("keeps what was captured while disconnected and sends it after the reconnect", () => {
    const { capture, socket } = begin();
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    vi.advanceTimersByTime(1000);
    expect(socket.emits("input")).toHaveLength(0);
    socket.serverSends("connect");
    fireEvent.keyUp(byTestId("notes"), { code: "KeyA" });
    socket.serverSends("disconnect", "transport close");
    expect(capture.state.connection).toBe("reconnecting");
    fireEvent.mouseDown(byTestId("notes"), { button: 0, clientX: 5, clientY: 6 });
    vi.advanceTimersByTime(1000);
    expect(socket.emits("input")).toHaveLength(0);
    socket.serverSends("connect");
    vi.advanceTimersByTime(250);
    expect(received(socket).map((e) => e.type)).toEqual(["down", "up", "down"]);
    expect(capture.stats.sent).toBe(3);
  });

  it("retries itself after the server closed the socket, and stops for good when the session is gone", () => {
    const { capture, socket } = begin();
    const ended = vi.fn();
    capture.on("ended", ended);
    socket.serverSends("connect");
    socket.serverSends("disconnect", "io server disconnect");
    vi.advanceTimersByTime(1000);
    expect(socket.connectCalls).toBe(1);
    socket.active = false;
    socket.serverSends("connect_error", refused("session_revoked", "This session was revoked; sign in again."));
    expect(ended).toHaveBeenCalledWith("This session was revoked; sign in again.");
    expect(capture.state.connection).toBe("closed");
    expect(capture.stats.active).toBe(false);
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    vi.advanceTimersByTime(60_000);
    expect(socket.connectCalls).toBe(1);
    expect(socket.emits("input")).toHaveLength(0);
  });

  it("tells trust listeners each new score, and no longer once they unsubscribe", () => {
    const { capture, socket } = begin();
    const seen: number[] = [];
    const off = capture.on("trust", (view) => seen.push(view.score));
    socket.serverSends("connect");
    socket.serverSends("status", { session_id: "s1", state: "active", trust: trust(90), history: [90] });
    socket.serverSends("enrollment", { mode: "enrollment", progress: null }); // no new score
    socket.serverSends("trust", { ...trust(72.5, "medium"), modality: "keystroke", window_size: 50 });
    off();
    socket.serverSends("trust", { ...trust(40, "low"), modality: "mouse", window_size: 10 });
    expect(seen).toEqual([90, 72.5]);
    expect(capture.state.trust?.score).toBe(40);
  });

  it("off() removes a listener as well", () => {
    const { capture, socket } = begin();
    const listener = vi.fn();
    capture.on("trust", listener);
    capture.off("trust", listener);
    socket.serverSends("trust", { ...trust(80), modality: "keystroke" });
    expect(listener).not.toHaveBeenCalled();
  });

  it("pauses capture while challenged (that span is forgotten) and resumes when restored", () => {
    const { capture, socket } = begin();
    const challenged = vi.fn();
    const restored = vi.fn();
    capture.on("challenged", challenged);
    capture.on("restored", restored);
    socket.serverSends("connect");
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    socket.serverSends("reauth_required", { session_id: "s1", cause: "trust" });
    expect(challenged).toHaveBeenCalledWith("trust");
    expect(capture.stats.active).toBe(false);
    fireEvent.keyDown(byTestId("notes"), { code: "KeyB" });
    vi.advanceTimersByTime(1000);
    expect(socket.emits("input")).toHaveLength(0);

    socket.serverSends("reauth_ok", { session_id: "s1", trust: trust(100) });
    expect(restored).toHaveBeenCalledTimes(1);
    expect(capture.stats.active).toBe(true);
    fireEvent.keyDown(byTestId("notes"), { code: "KeyC" });
    vi.advanceTimersByTime(250);
    expect(received(socket).map((e) => (e as { key: string }).key)).toEqual(["L_bottom.3"]);
  });

  it("pauses while the tab is hidden, sending what came before at once", () => {
    const { capture, socket } = begin();
    const changes = vi.fn();
    capture.on("change", changes);
    socket.serverSends("connect");
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    setVisibility("hidden");
    expect(received(socket)).toHaveLength(1);
    expect(capture.stats.active).toBe(false);
    expect(changes).toHaveBeenCalled();
    fireEvent.keyDown(byTestId("notes"), { code: "KeyB" });
    setVisibility("visible");
    fireEvent.keyDown(byTestId("notes"), { code: "KeyC" });
    vi.advanceTimersByTime(250);
    expect(received(socket).map((e) => (e as { key: string }).key)).toEqual(["L_home.5", "L_bottom.3"]);
  });

  it("captures only inside its target when given one", () => {
    page(`<div data-testid="app"><textarea data-testid="inside"></textarea></div><textarea data-testid="outside"></textarea>`);
    const { socket } = begin({ target: byTestId("app") });
    socket.serverSends("connect");
    fireEvent.keyDown(byTestId("outside"), { code: "KeyO" });
    fireEvent.keyDown(byTestId("inside"), { code: "KeyI" });
    vi.advanceTimersByTime(250);
    expect(received(socket).map((e) => (e as { key: string }).key)).toEqual(["R_top.3"]);
  });

  it("stop() sends what is buffered, then stops listening and closes the socket", () => {
    const { capture, socket } = begin();
    socket.serverSends("connect");
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    capture.stop();
    expect(received(socket)).toHaveLength(1);
    expect(socket.disconnectCalls).toBe(1);
    fireEvent.keyDown(byTestId("notes"), { code: "KeyB" });
    vi.advanceTimersByTime(1000);
    expect(received(socket)).toHaveLength(1);
    expect(capture.stats.active).toBe(false);
  });
});
