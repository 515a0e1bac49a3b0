import { describe, expect, it } from "vitest";
import { DEVICE_TOKENS_KEY, deviceTokenFor, rememberDeviceToken } from "./deviceTokens";

describe("device tokens", () => {
  it("are kept per account, whatever the case of the address", () => {
    rememberDeviceToken("Alice@Example.com", "device-alice-0123456789");
    rememberDeviceToken("bob@example.com", "device-bob-0123456789ab");
    expect(deviceTokenFor(" alice@example.com ")).toBe("device-alice-0123456789");
    expect(deviceTokenFor("bob@example.com")).toBe("device-bob-0123456789ab");
    expect(deviceTokenFor("carol@example.com")).toBeNull();
  });

  it("outlive the tab, unlike the session token", () => {
    rememberDeviceToken("alice@example.com", "device-alice-0123456789");
    expect(JSON.parse(localStorage.getItem(DEVICE_TOKENS_KEY)!)).toEqual({ "alice@example.com": "device-alice-0123456789" });
    expect(sessionStorage.length).toBe(0);
  });

  it("read as none when the stored value is damaged", () => {
    localStorage.setItem(DEVICE_TOKENS_KEY, "{not json");
    expect(deviceTokenFor("alice@example.com")).toBeNull();
    rememberDeviceToken("alice@example.com", "device-alice-0123456789");
    expect(deviceTokenFor("alice@example.com")).toBe("device-alice-0123456789");
  });
});
