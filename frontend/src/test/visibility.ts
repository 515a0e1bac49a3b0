import { act } from "@testing-library/react";

/** Pretend the tab is hidden or visible (jsdom's document is always visible). */
export function setVisibility(state: "visible" | "hidden"): void {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  act(() => {
    document.dispatchEvent(new Event("visibilitychange"));
  });
}
