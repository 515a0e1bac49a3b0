import { fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setVisibility } from "../test/visibility";
import type { WireEvent } from "./events";
import { noCapture } from "./nocapture";
import { useMouseCapture } from "./useMouseCapture";

let fakeNow = 0;
const now = () => fakeNow;

function Page({ sink }: { sink: (e: WireEvent) => void }) {
  useMouseCapture(sink, { now, throttleMs: 16 });
  return (
    <div>
      <div data-testid="board" style={{ width: 500, height: 500 }} />
      <input data-testid="password" type="password" />
      <div {...noCapture}>
        <button data-testid="secret-button">x</button>
      </div>
    </div>
  );
}

describe("useMouseCapture", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    fakeNow = 1000;
  });
  afterEach(() => {
    vi.useRealTimers();
    setVisibility("visible");
  });

  it("coalesces moves to at most one per 16 ms and keeps the last position", () => {
    const sink = vi.fn();
    render(<Page sink={sink} />);
    const board = screen.getByTestId("board");
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
    const sink = vi.fn();
    render(<Page sink={sink} />);
    const board = screen.getByTestId("board");
    for (let i = 0; i < 5; i++) {
      fakeNow = 1000 + 20 * i;
      fireEvent.mouseMove(board, { clientX: i, clientY: i });
    }
    expect(sink).toHaveBeenCalledTimes(5);
  });

  it("records presses and releases with their button, after the pending move", () => {
    const sink = vi.fn();
    render(<Page sink={sink} />);
    const board = screen.getByTestId("board");
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
    const sink = vi.fn();
    render(<Page sink={sink} />);
    const board = screen.getByTestId("board");
    fireEvent.wheel(board, { clientX: 3, clientY: 4, deltaX: 0, deltaY: 120, deltaMode: 0 });
    fireEvent.wheel(board, { clientX: 3, clientY: 4, deltaX: 1, deltaY: 3, deltaMode: 1 });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 1000, type: "wheel", x: 3, y: 4, dx: 0, dy: 120 },
      { t: 1000, type: "wheel", x: 3, y: 4, dx: 16, dy: 48 },
    ]);
  });

  it("never captures over password fields or data-bbauth-nocapture elements", () => {
    const sink = vi.fn();
    render(<Page sink={sink} />);
    fireEvent.mouseDown(screen.getByTestId("password"), { button: 0 });
    fireEvent.mouseMove(screen.getByTestId("secret-button"), { clientX: 1, clientY: 1 });
    fireEvent.mouseDown(screen.getByTestId("secret-button"), { button: 0 });
    expect(sink).not.toHaveBeenCalled();
  });

  it("pauses while the tab is hidden", () => {
    const sink = vi.fn();
    render(<Page sink={sink} />);
    setVisibility("hidden");
    fireEvent.mouseDown(screen.getByTestId("board"), { button: 0 });
    expect(sink).not.toHaveBeenCalled();
    setVisibility("visible");
    fireEvent.mouseDown(screen.getByTestId("board"), { button: 0 });
    expect(sink).toHaveBeenCalledTimes(1);
  });
});
