import { act, render, screen, waitFor, type RenderResult } from "@testing-library/react";
import type { ReactElement } from "react";
import { expect } from "vitest";

/** Render `ui` and wait until its lazily loaded page is on screen (pages are fetched when
 * first shown; a signed-in app also opens its socket then). */
export async function renderApp(ui: ReactElement): Promise<RenderResult> {
  const rendered = render(ui);
  await waitFor(() => expect(screen.queryByLabelText("Loading the page")).toBeNull());
  await act(async () => undefined); // the page's first effects and what they set
  return rendered;
}
