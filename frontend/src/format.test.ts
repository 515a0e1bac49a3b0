import { describe, expect, it } from "vitest";
import { parseAmountCents } from "./format";

describe("parseAmountCents", () => {
  it.each([
    ["12", 1200],
    ["12.5", 1250],
    ["12,50", 1250],
    ["0.07", 7],
    ["1 234.56", 123_456],
    ["1,250.75", 125_075],
    ["1.250,75", 125_075],
    ["1,234,567", 123_456_700],
    [" 3 ", 300],
  ])("reads %j as %i cents", (text, cents) => {
    expect(parseAmountCents(text)).toBe(cents);
  });

  it.each(["", "12.345", "1,250", "1,250,75", "12,34.5", "-3", "12e2", "twelve", "12."])("refuses %j", (text) => {
    expect(parseAmountCents(text)).toBeNull();
  });
});
