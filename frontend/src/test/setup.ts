import "@testing-library/jest-dom/vitest";
// IndexedDB for jsdom: the tab's DPoP key is kept there (src/auth/dpop.ts).
import "fake-indexeddb/auto";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import { defaultDpopKey } from "../auth/DpopContext";

afterEach(async () => {
  cleanup();
  await defaultDpopKey.forget();
  sessionStorage.clear();
  localStorage.clear();
});
