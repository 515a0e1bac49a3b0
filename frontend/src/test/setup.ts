import "@testing-library/jest-dom/vitest";
// IndexedDB for jsdom: the tab's DPoP key is kept there (src/auth/dpop.ts).
import "fake-indexeddb/auto";
import { cleanup, configure } from "@testing-library/react";
import { afterEach, beforeAll } from "vitest";
import { defaultDpopKey } from "../auth/DpopContext";

// The default second for findBy/waitFor is too short on a shared, busy machine: a page that
// takes two round trips to show something failed there now and then.
configure({ asyncUtilTimeout: 5000 });

// The app's code that loads when first shown (React.lazy): fetched before a file's tests, so a
// test's wait for the page is never spent on the first compile of a module on a busy machine.
beforeAll(async () => {
  await Promise.all([
    import("../SignedIn"),
    import("../pages/AccountPage"),
    import("../pages/AdminPage"),
    import("../pages/WorkPage"),
    import("../pages/AccountLinkPage"),
    import("../pages/PrivacyPage"),
    import("../pages/login/CodeStep"),
    import("../pages/login/SignUpForm"),
  ]);
});

afterEach(async () => {
  cleanup();
  await defaultDpopKey.forget();
  sessionStorage.clear();
  localStorage.clear();
});
