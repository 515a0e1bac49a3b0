import { describe, expect, it, vi } from "vitest";
import { STEP_UP_CHALLENGE } from "../test/fakeApi";
import type { Challenge } from "./types";
import { StepUpPrompt } from "./stepUp";

const challenge = STEP_UP_CHALLENGE as Challenge;

describe("StepUpPrompt", () => {
  it("opens with the challenge and tells its listeners", () => {
    const prompt = new StepUpPrompt();
    const listener = vi.fn();
    prompt.subscribe(listener);
    void prompt.ask(challenge);
    expect(prompt.getSnapshot()).toEqual({ open: true, challenge, reason: null });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("gives requests that need a step-up meanwhile the same answer", async () => {
    const prompt = new StepUpPrompt();
    const first = prompt.ask(challenge);
    const second = prompt.ask(challenge);
    prompt.settle(true);
    await expect(Promise.all([first, second])).resolves.toEqual([true, true]);
    expect(prompt.getSnapshot().open).toBe(false);
  });

  it("answers false when declined, and asks afresh next time", async () => {
    const prompt = new StepUpPrompt();
    const declined = prompt.ask(challenge);
    prompt.settle(false);
    await expect(declined).resolves.toBe(false);
    const again = prompt.ask(null);
    expect(prompt.getSnapshot()).toEqual({ open: true, challenge: null, reason: null });
    prompt.showChallenge(challenge);
    expect(prompt.getSnapshot().challenge).toBe(challenge);
    prompt.settle(true);
    await expect(again).resolves.toBe(true);
  });

  it("says why the operation that asked needs a code", () => {
    const prompt = new StepUpPrompt();
    void prompt.ask(challenge, "Approving a payment needs a fresh code.");
    expect(prompt.getSnapshot().reason).toBe("Approving a payment needs a fresh code.");
    prompt.showChallenge({ ...challenge, resends_left: 2 });
    expect(prompt.getSnapshot().reason).toBe("Approving a payment needs a fresh code.");
  });
});
