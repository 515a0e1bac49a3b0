/** A page for a test: `html` in the body (the previous test's page is gone). */
export function page(html: string): HTMLElement {
  document.body.innerHTML = html;
  return document.body;
}

/** The element with `data-testid` `id`. */
export function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`no element with data-testid ${id}`);
  return found;
}

/** Pretend the tab is hidden or visible (jsdom's document is always visible). */
export function setVisibility(state: "visible" | "hidden"): void {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}
