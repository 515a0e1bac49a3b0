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

  it("records key down and up with the key's class (hand, row, finger) and a high-resolution time", () => {
    fireEvent.keyDown(byTestId("notes"), { code: "KeyH", key: "h" });
    fireEvent.keyUp(byTestId("notes"), { code: "KeyH", key: "h" });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 10, type: "down", key: "R_home.2" },
      { t: 20, type: "up", key: "R_home.2" },
    ]);
  });

  it("never records which character was typed nor which key it was", () => {
    fireEvent.keyDown(byTestId("notes"), { code: "KeyQ", key: "a" }); // AZERTY: "a" is on KeyQ
    const sent = JSON.stringify(sink.mock.calls);
    expect(sent).not.toContain('"a"');
    expect(sent).not.toContain("KeyQ");
    expect(sent).not.toContain("code");
  });

  it("sends keys of one class alike: the server cannot tell them apart", () => {
    const notes = byTestId("notes");
    for (const code of ["KeyR", "KeyT", "Digit5", "Digit6"]) {
      fireEvent.keyDown(notes, { code });
      fireEvent.keyUp(notes, { code });
    }
    const keys = sink.mock.calls.map((c) => (c[0] as { key: string }).key);
    expect(keys).toEqual(["L_top.2", "L_top.2", "L_top.2", "L_top.2", "L_num.2", "L_num.2", "L_num.2", "L_num.2"]);
  });

  it("marks a press of the key pressed just before, and only that", () => {
    const notes = byTestId("notes");
    for (const code of ["KeyT", "KeyT", "KeyR"]) {
      fireEvent.keyDown(notes, { code });
      fireEvent.keyUp(notes, { code });
    }
    const downs = sink.mock.calls.map((c) => c[0]).filter((e) => e.type === "down");
    expect(downs.map((e) => (e as { same?: true }).same)).toEqual([undefined, true, undefined]);
  });

  it("pairs overlapping presses of one class by slot, so each release ends its own press", () => {
    const notes = byTestId("notes");
    fireEvent.keyDown(notes, { code: "KeyR" });
    fireEvent.keyDown(notes, { code: "KeyT" });
    fireEvent.keyUp(notes, { code: "KeyR" });
    fireEvent.keyUp(notes, { code: "KeyT" });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 10, type: "down", key: "L_top.2" },
      { t: 20, type: "down", key: "L_top.2", slot: 1 },
      { t: 30, type: "up", key: "L_top.2" },
      { t: 40, type: "up", key: "L_top.2", slot: 1 },
    ]);
  });

  it("drops a release of a press it never saw", () => {
    fireEvent.keyUp(byTestId("notes"), { code: "KeyA" });
    expect(sink).not.toHaveBeenCalled();
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
    expect(sink.mock.calls.map((c) => JSON.stringify(c[0]))).toEqual([expect.stringContaining(`"key":"L_top.2"`)]);
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
