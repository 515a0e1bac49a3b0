import "@testing-library/jest-dom/vitest";
// IndexedDB for jsdom: the tab's DPoP key is kept there (src/auth/dpop.ts).
import "fake-indexeddb/auto";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";
import { defaultDpopKey } from "../auth/DpopContext";

// The default second for findBy/waitFor is too short on a shared, busy machine: a page that
// takes two round trips to show something failed there now and then.
configure({ asyncUtilTimeout: 5000 });

afterEach(async () => {
  cleanup();
  await defaultDpopKey.forget();
  sessionStorage.clear();
  localStorage.clear();
});
