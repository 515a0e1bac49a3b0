import { describe, expect, it } from "vitest";
import { ago, deviceName } from "./devices";

describe("deviceName", () => {
  it.each([
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox on macOS"],
    ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera on Windows"],
    ["curl/8.5.0", "Unknown device"],
    ["", "Unknown device"],
  ])("names %s", (ua, name) => {
    expect(deviceName(ua)).toBe(name);
  });
});

describe("ago", () => {
  const now = Date.parse("2031-03-04T12:00:00Z");
  it.each([
    ["2031-03-04T11:59:30Z", "just now"],
    ["2031-03-04T11:55:00Z", "5 min ago"],
    ["2031-03-04T09:00:00Z", "3 h ago"],
    ["2031-03-03T12:00:00Z", "1 day ago"],
    ["2031-02-25T12:00:00Z", "7 days ago"],
    ["2031-03-04T12:00:05Z", "just now"],
  ])("says %s as %s", (iso, words) => {
    expect(ago(iso, now)).toBe(words);
  });
});
