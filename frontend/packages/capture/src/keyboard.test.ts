import { fireEvent } from "@testing-library/dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { byTestId, page } from "../test/dom";
import type { WireEvent } from "./events";
import { captureKeys } from "./keyboard";

const PAGE = `
  <textarea data-testid="notes"></textarea>
  <input data-testid="password" type="password">
  <input data-testid="otp" autocomplete="one-time-code" inputmode="numeric">
  <input data-testid="otp-section" autocomplete="section-login One-Time-Code">
  <form data-bbauth-ignore><input data-testid="email" type="email"></form>
  <div data-bbauth-ignore><div><input data-testid="deep"></div></div>
`;

function clock() {
  let t = 0;
  return () => (t += 10);
}

describe("captureKeys", () => {
  let stop: () => void = () => undefined;
  let sink: ReturnType<typeof vi.fn<(e: WireEvent) => void>>;
  beforeEach(() => {
    page(PAGE);
    sink = vi.fn<(e: WireEvent) => void>();
    stop = captureKeys(sink, { target: document, now: clock() });
  });
  afterEach(() => stop());

  it("records key down and up with the physical key code and a high-resolution time", () => {
    fireEvent.keyDown(byTestId("notes"), { code: "KeyH", key: "h" });
    fireEvent.keyUp(byTestId("notes"), { code: "KeyH", key: "h" });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 10, type: "down", code: "KeyH" },
      { t: 20, type: "up", code: "KeyH" },
    ]);
  });

  it("never records which character was typed, only the key's position", () => {
    fireEvent.keyDown(byTestId("notes"), { code: "KeyQ", key: "a" }); // AZERTY: "a" is on KeyQ
    expect(JSON.stringify(sink.mock.calls)).not.toContain('"a"');
  });

  it("ignores auto-repeat of a held key", () => {
    const notes = byTestId("notes");
    fireEvent.keyDown(notes, { code: "KeyA" });
    fireEvent.keyDown(notes, { code: "KeyA", repeat: true });
    fireEvent.keyDown(notes, { code: "KeyA", repeat: true });
    fireEvent.keyUp(notes, { code: "KeyA" });
    expect(sink.mock.calls.map((c) => c[0].type)).toEqual(["down", "up"]);
  });

  it("never captures password fields", () => {
    fireEvent.keyDown(byTestId("password"), { code: "KeyS" });
    fireEvent.keyUp(byTestId("password"), { code: "KeyS" });
    expect(sink).not.toHaveBeenCalled();
  });

  it('never captures one-time-code fields (autocomplete="one-time-code", in any case or section)', () => {
    for (const id of ["otp", "otp-section"]) {
      fireEvent.keyDown(byTestId(id), { code: "Digit4" });
      fireEvent.keyUp(byTestId(id), { code: "Digit4" });
    }
    expect(sink).not.toHaveBeenCalled();
  });

  it("never captures inside elements marked data-bbauth-ignore, however deep", () => {
    fireEvent.keyDown(byTestId("email"), { code: "KeyX" });
    fireEvent.keyDown(byTestId("deep"), { code: "KeyY" });
    expect(sink).not.toHaveBeenCalled();
  });

  it("never captures secret fields inside a web component's shadow root", () => {
    const host = document.createElement("login-box");
    document.body.append(host);
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = `<input type="password"><div data-bbauth-ignore><input class="card"></div><textarea></textarea>`;
    const press = (target: Element, code: string) =>
      target.dispatchEvent(new KeyboardEvent("keydown", { code, bubbles: true, composed: true }));
    press(root.querySelector("input[type=password]")!, "KeyS");
    press(root.querySelector(".card")!, "Digit4");
    press(root.querySelector("textarea")!, "KeyT");
    expect(sink.mock.calls.map((c) => JSON.stringify(c[0]))).toEqual([expect.stringContaining(`"code":"KeyT"`)]);
  });

  it("skips events without a physical key code (e.g. IME composition)", () => {
    fireEvent.keyDown(byTestId("notes"), { key: "Process" });
    expect(sink).not.toHaveBeenCalled();
  });

  it("stops listening when told", () => {
    stop();
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    expect(sink).not.toHaveBeenCalled();
  });

  it("uses the clock it is given, performance.now() in the SDK", () => {
    stop();
    vi.spyOn(performance, "now").mockReturnValue(1234.5678);
    stop = captureKeys(sink, { target: document, now: () => performance.now() });
    fireEvent.keyDown(byTestId("notes"), { code: "KeyA" });
    expect(sink.mock.calls[0][0].t).toBe(1234.5678);
  });
});
