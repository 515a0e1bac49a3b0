import { describe, expect, it } from "vitest";
import { INITIAL_SNAPSHOT, type TrustSnapshot, type TrustView } from "@bbauth/capture";
import { trustInWords, trustNews } from "./trustWords";

const TRAINED = { keystroke: true, mouse: true };

function at(score: number, level: TrustView["level"], patch: Partial<TrustSnapshot> = {}): TrustSnapshot {
  return {
    ...INITIAL_SNAPSHOT,
    connection: "connected",
    trained: TRAINED,
    trust: { score, level, windows: 3, verified: true, evidence_age_s: 1 },
    ...patch,
  };
}

describe("trust in words", () => {
  it("says the score out of 100 and the level", () => {
    expect(trustInWords(at(51.4, "medium"))).toBe("Trust 51 of 100, medium");
  });

  it("gives no score while nothing is checked yet, nor while offline", () => {
    expect(trustInWords(at(100, "high", { trained: { keystroke: false, mouse: false } }))).toBe("Trust: learning, not checked yet");
    expect(trustInWords(at(100, "high", { connection: "reconnecting" }))).toBe("Trust unknown: offline, reconnecting");
  });
});

describe("what is announced", () => {
  it("announces a new level, not a score moving within its level", () => {
    expect(trustNews(at(90, "high"), at(80, "high"))).toBeNull();
    expect(trustNews(at(80, "high"), at(51, "medium"))).toBe("Trust 51 of 100, medium.");
  });

  it("announces that checking starts when the first model is trained, and when enrollment completes", () => {
    const learning = at(100, "high", { trained: { keystroke: false, mouse: false } });
    const half = at(97, "high", { trained: { keystroke: true, mouse: false } });
    expect(trustNews(learning, half)).toBe("Learning complete: bbauth is now checking your behaviour. Trust 97 of 100, high.");
    expect(trustNews(half, at(97, "high"))).toBe("Enrollment complete: typing and pointer use are both checked. Trust 97 of 100, high.");
  });

  it("announces a lost connection and its return", () => {
    const down = at(100, "high", { connection: "reconnecting" });
    expect(trustNews(at(100, "high"), down)).toBe("Connection lost. Reconnecting; trust is not checked meanwhile.");
    expect(trustNews(down, at(100, "high"))).toBe("Connection back. Trust 100 of 100, high.");
  });

  it("says nothing for the first snapshot", () => {
    expect(trustNews(null, at(100, "high"))).toBeNull();
  });
});
