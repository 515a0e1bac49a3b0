import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventBatcher } from "./batcher";
import type { WireEvent } from "./events";

const key = (t: number, type: "down" | "up" = "down"): WireEvent => ({ t, type, key: "L_home.5" });
const move = (t: number, x = 1, y = 2): WireEvent => ({ t, type: "move", x, y });

describe("EventBatcher", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends everything captured in one interval as a single batch every 250 ms", () => {
    const send = vi.fn();
    const batcher = new EventBatcher({ send });
    batcher.start();
    batcher.push(key(1));
    batcher.push(move(2));
    batcher.push(key(3, "up"));
    vi.advanceTimersByTime(249);
    expect(send).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0][0]).toHaveLength(3);
    batcher.push(key(4));
    vi.advanceTimersByTime(250);
    expect(send).toHaveBeenCalledTimes(2);
    expect(send.mock.calls[1][0]).toEqual([key(4)]);
    batcher.stop();
  });

  it("sends nothing when nothing was captured", () => {
    const send = vi.fn();
    const batcher = new EventBatcher({ send });
    batcher.start();
    vi.advanceTimersByTime(2000);
    expect(send).not.toHaveBeenCalled();
    batcher.stop();
  });

  it("splits a burst larger than the server's batch limit", () => {
    const send = vi.fn();
    const batcher = new EventBatcher({ send, maxBatch: 2000, maxBuffer: 10_000 });
    for (let i = 0; i < 4500; i++) batcher.push(move(i));
    batcher.flush();
    expect(send.mock.calls.map((c) => c[0].length)).toEqual([2000, 2000, 500]);
  });

  it("keeps events while it cannot send, and drops the oldest beyond its buffer", () => {
    const send = vi.fn();
    let online = false;
    const batcher = new EventBatcher({ send, canSend: () => online, maxBuffer: 3 });
    batcher.start();
    for (let i = 1; i <= 5; i++) batcher.push(key(i));
    vi.advanceTimersByTime(1000);
    expect(send).not.toHaveBeenCalled();
    expect(batcher.dropped).toBe(2);
    online = true;
    vi.advanceTimersByTime(250);
    expect(send.mock.calls[0][0].map((e: WireEvent) => e.t)).toEqual([3, 4, 5]);
    batcher.stop();
  });

  it("never lets time run backwards within a stream, independently per stream", () => {
    const send = vi.fn();
    const batcher = new EventBatcher({ send });
    batcher.push(key(10));
    batcher.push(key(9, "up"));
    batcher.push(move(5));
    batcher.push(move(4));
    batcher.flush();
    expect(send.mock.calls[0][0].map((e: WireEvent) => e.t)).toEqual([10, 10, 5, 5]);
  });

  it("rounds timestamps to microseconds", () => {
    const send = vi.fn();
    const batcher = new EventBatcher({ send });
    batcher.push(key(1.23456789));
    batcher.flush();
    expect(send.mock.calls[0][0][0].t).toBe(1.235);
  });

  it("forgets what it holds on clear", () => {
    const send = vi.fn();
    const batcher = new EventBatcher({ send });
    batcher.push(key(1));
    batcher.clear();
    batcher.flush();
    expect(send).not.toHaveBeenCalled();
  });
});
