import "@testing-library/jest-dom/vitest";
// IndexedDB for jsdom: the tab's DPoP key is kept there (src/auth/dpop.ts).
import "fake-indexeddb/auto";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, beforeAll } from "vitest";
import { defaultDpopKey } from "../auth/DpopContext";
import { preloadPages } from "../routing/lazyPage";

// The default second for findBy/waitFor is too short on a shared, busy machine: a page that
// takes two round trips to show something failed there now and then.
configure({ asyncUtilTimeout: 5000 });

// The app's code that loads when first shown (lazyPage): fetched before a file's tests, so a
// test's wait for a page is never spent on the first compile of a module on a busy machine. The
// app's module declares the first pages; each of those declares its own.
beforeAll(async () => {
  await import("../App");
  await preloadPages();
});

afterEach(async () => {
  cleanup();
  await defaultDpopKey.forget();
  sessionStorage.clear();
  localStorage.clear();
});
