import { fireEvent } from "@testing-library/dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { byTestId, page } from "../test/dom";
import type { WireEvent } from "./events";
import { captureMouse } from "./mouse";

const PAGE = `
  <div data-testid="board" style="width: 500px; height: 500px"></div>
  <input data-testid="password" type="password">
  <input data-testid="otp" autocomplete="one-time-code">
  <div data-bbauth-ignore><button data-testid="secret-button">x</button></div>
`;

let fakeNow = 0;

describe("captureMouse", () => {
  let stop: () => void = () => undefined;
  let sink: ReturnType<typeof vi.fn<(e: WireEvent) => void>>;
  beforeEach(() => {
    vi.useFakeTimers();
    fakeNow = 1000;
    page(PAGE);
    sink = vi.fn<(e: WireEvent) => void>();
    stop = captureMouse(sink, { target: document, now: () => fakeNow, throttleMs: 16 });
  });
  afterEach(() => {
    stop();
    vi.useRealTimers();
  });

  it("coalesces moves to at most one per 16 ms and keeps the last position", () => {
    const board = byTestId("board");
    for (let i = 0; i < 10; i++) {
      fakeNow = 1000 + i; // ten moves within 10 ms
      fireEvent.mouseMove(board, { clientX: i, clientY: 2 * i });
    }
    expect(sink).toHaveBeenCalledTimes(1);
    expect(sink.mock.calls[0][0]).toEqual({ t: 1000, type: "move", x: 0, y: 0 });
    vi.advanceTimersByTime(16);
    expect(sink).toHaveBeenCalledTimes(2);
    expect(sink.mock.calls[1][0]).toEqual({ t: 1009, type: "move", x: 9, y: 18 });
  });

  it("records moves spaced by the throttle gap at once", () => {
    const board = byTestId("board");
    for (let i = 0; i < 5; i++) {
      fakeNow = 1000 + 20 * i;
      fireEvent.mouseMove(board, { clientX: i, clientY: i });
    }
    expect(sink).toHaveBeenCalledTimes(5);
  });

  it("records presses and releases with their button, after the pending move", () => {
    const board = byTestId("board");
    fireEvent.mouseMove(board, { clientX: 1, clientY: 1 });
    fakeNow = 1005;
    fireEvent.mouseMove(board, { clientX: 7, clientY: 8 }); // pending (throttled)
    fakeNow = 1008;
    fireEvent.mouseDown(board, { clientX: 7, clientY: 8, button: 2 });
    fakeNow = 1090;
    fireEvent.mouseUp(board, { clientX: 7, clientY: 8, button: 2 });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 1000, type: "move", x: 1, y: 1 },
      { t: 1005, type: "move", x: 7, y: 8 },
      { t: 1008, type: "down", x: 7, y: 8, button: 2 },
      { t: 1090, type: "up", x: 7, y: 8, button: 2 },
    ]);
  });

  it("records wheel turns in pixels whatever the delta mode", () => {
    const board = byTestId("board");
    fireEvent.wheel(board, { clientX: 3, clientY: 4, deltaX: 0, deltaY: 120, deltaMode: 0 });
    fireEvent.wheel(board, { clientX: 3, clientY: 4, deltaX: 1, deltaY: 3, deltaMode: 1 });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 1000, type: "wheel", x: 3, y: 4, dx: 0, dy: 120 },
      { t: 1000, type: "wheel", x: 3, y: 4, dx: 16, dy: 48 },
    ]);
  });

  it("never captures over password or one-time-code fields or data-bbauth-ignore elements", () => {
    fireEvent.mouseDown(byTestId("password"), { button: 0 });
    fireEvent.wheel(byTestId("otp"), { deltaY: 10 });
    fireEvent.mouseMove(byTestId("secret-button"), { clientX: 1, clientY: 1 });
    fireEvent.mouseDown(byTestId("secret-button"), { button: 0 });
    expect(sink).not.toHaveBeenCalled();
  });

  it("drops a move still held back by the throttle when capture stops", () => {
    const board = byTestId("board");
    fireEvent.mouseMove(board, { clientX: 1, clientY: 1 });
    fakeNow = 1004;
    fireEvent.mouseMove(board, { clientX: 2, clientY: 2 });
    stop();
    vi.advanceTimersByTime(50);
    expect(sink).toHaveBeenCalledTimes(1);
  });
});
