import { fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setVisibility } from "../test/visibility";
import type { WireEvent } from "./events";
import { noCapture } from "./nocapture";
import { useKeystrokeCapture } from "./useKeystrokeCapture";

function Page({ sink, enabled = true, now }: { sink: (e: WireEvent) => void; enabled?: boolean; now?: () => number }) {
  useKeystrokeCapture(sink, { enabled, now });
  return (
    <div>
      <textarea data-testid="notes" />
      <input data-testid="password" type="password" />
      <form {...noCapture}>
        <input data-testid="email" type="email" />
      </form>
      <input data-testid="otp" {...noCapture} />
    </div>
  );
}

function clock() {
  let t = 0;
  return () => (t += 10);
}

describe("useKeystrokeCapture", () => {
  afterEach(() => setVisibility("visible"));

  it("records key down and up with the physical key code and a high-resolution time", () => {
    const sink = vi.fn();
    render(<Page sink={sink} now={clock()} />);
    const notes = screen.getByTestId("notes");
    fireEvent.keyDown(notes, { code: "KeyH", key: "h" });
    fireEvent.keyUp(notes, { code: "KeyH", key: "h" });
    expect(sink.mock.calls.map((c) => c[0])).toEqual([
      { t: 10, type: "down", code: "KeyH" },
      { t: 20, type: "up", code: "KeyH" },
    ]);
  });

  it("uses performance.now() by default", () => {
    const sink = vi.fn();
    vi.spyOn(performance, "now").mockReturnValue(1234.5678);
    render(<Page sink={sink} />);
    fireEvent.keyDown(screen.getByTestId("notes"), { code: "KeyA" });
    expect(sink.mock.calls[0][0].t).toBe(1234.5678);
  });

  it("ignores auto-repeat of a held key", () => {
    const sink = vi.fn();
    render(<Page sink={sink} now={clock()} />);
    const notes = screen.getByTestId("notes");
    fireEvent.keyDown(notes, { code: "KeyA" });
    fireEvent.keyDown(notes, { code: "KeyA", repeat: true });
    fireEvent.keyDown(notes, { code: "KeyA", repeat: true });
    fireEvent.keyUp(notes, { code: "KeyA" });
    expect(sink.mock.calls.map((c) => c[0].type)).toEqual(["down", "up"]);
  });

  it("never captures password fields", () => {
    const sink = vi.fn();
    render(<Page sink={sink} now={clock()} />);
    const password = screen.getByTestId("password");
    fireEvent.keyDown(password, { code: "KeyS" });
    fireEvent.keyUp(password, { code: "KeyS" });
    expect(sink).not.toHaveBeenCalled();
  });

  it("never captures inside elements marked data-bbauth-nocapture (login form, code inputs)", () => {
    const sink = vi.fn();
    render(<Page sink={sink} now={clock()} />);
    fireEvent.keyDown(screen.getByTestId("email"), { code: "KeyX" });
    fireEvent.keyDown(screen.getByTestId("otp"), { code: "Digit4" });
    fireEvent.keyUp(screen.getByTestId("otp"), { code: "Digit4" });
    expect(sink).not.toHaveBeenCalled();
  });

  it("skips events without a physical key code (e.g. IME composition)", () => {
    const sink = vi.fn();
    render(<Page sink={sink} now={clock()} />);
    fireEvent.keyDown(screen.getByTestId("notes"), { key: "Process" });
    expect(sink).not.toHaveBeenCalled();
  });

  it("pauses while the tab is hidden and resumes when it is visible again", () => {
    const sink = vi.fn();
    render(<Page sink={sink} now={clock()} />);
    const notes = screen.getByTestId("notes");
    setVisibility("hidden");
    fireEvent.keyDown(notes, { code: "KeyA" });
    expect(sink).not.toHaveBeenCalled();
    setVisibility("visible");
    fireEvent.keyDown(notes, { code: "KeyB" });
    expect(sink).toHaveBeenCalledTimes(1);
    expect(sink.mock.calls[0][0].code).toBe("KeyB");
  });

  it("captures nothing while disabled", () => {
    const sink = vi.fn();
    render(<Page sink={sink} enabled={false} />);
    fireEvent.keyDown(screen.getByTestId("notes"), { code: "KeyA" });
    expect(sink).not.toHaveBeenCalled();
  });
});
