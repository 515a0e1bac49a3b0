import { describe, expect, it } from "vitest";
import { codeTerms } from "./codeTerms";

const NOW = Date.parse("2031-03-04T12:00:00Z");

describe("codeTerms", () => {
  it("tells an emailed code's lifetime and the tries left", () => {
    expect(codeTerms({ channel: "email", expires_at: "2031-03-04T12:05:00Z", attempts_left: 5 }, NOW)).toBe(
      "It works for about 5 minutes; 5 tries left.",
    );
    expect(codeTerms({ channel: "email", expires_at: "2031-03-04T12:01:00Z", attempts_left: 1 }, NOW)).toBe(
      "It works for about 1 minute; 1 try left.",
    );
  });

  it("says when the code has already expired", () => {
    expect(codeTerms({ channel: "email", expires_at: "2031-03-04T11:59:00Z", attempts_left: 3 }, NOW)).toBe(
      "This code has expired: ask for a new one. 3 tries left.",
    );
  });

  it("gives an authenticator app's tries only: its codes change by themselves", () => {
    expect(codeTerms({ channel: "totp", expires_at: "2031-03-04T12:05:00Z", attempts_left: 4 }, NOW)).toBe("4 tries left.");
  });
});
