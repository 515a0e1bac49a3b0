import { Suspense, useEffect, useState } from "react";
import type { SocketFactory } from "@bbauth/capture";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import type { DpopKey } from "./auth/dpop";
import { DpopContext, defaultDpopKey } from "./auth/DpopContext";
import { rememberReturn, returnToGuardedApp } from "./auth/forwardAuth";
import type { LinkKind } from "./pages/AccountLinkPage";
import { LoginPage } from "./pages/LoginPage";
import { SocketFactoryContext } from "./realtime/SocketFactoryContext";
import { Loading } from "./components/Loading";
import { navigate, usePathname } from "./routing/router";
import { lazyPage } from "./routing/lazyPage";

export interface AppProps {
  /** How sockets are opened (a stand-in in unit tests). */
  socketFactory?: SocketFactory;
  /** The tab's DPoP key (IndexedDB by default). */
  dpop?: DpopKey;
}

export function App({ socketFactory, dpop }: AppProps) {
  return (
    <SocketFactoryContext.Provider value={socketFactory ?? null}>
      <DpopContext.Provider value={dpop ?? defaultDpopKey}>
        <AuthProvider>
          <Routes />
        </AuthProvider>
      </DpopContext.Provider>
    </SocketFactoryContext.Provider>
  );
}

// Only the login page is in the first download: the signed-in app (its pages, the live channel)
// and the notice links' pages are fetched when first shown.
const AccountLinkPage = lazyPage(() => import("./pages/AccountLinkPage"), "AccountLinkPage");
const SignedIn = lazyPage(() => import("./SignedIn"), "SignedIn");
const PrivacyPage = lazyPage(() => import("./pages/PrivacyPage"), "PrivacyPage");

/** "What bbauth collects": open to anyone, signed in or not. */
const PRIVACY_PATH = "/privacy";

/** Pages of the links in security notices: open to anyone, signed in or not. */
const LINK_PAGES = new Map<string, LinkKind>([
  ["/account/secure", "secure"],
  ["/account/unlock", "unlock"],
]);

function Routes() {
  const { session, user, challenged } = useAuth();
  const path = usePathname();
  const linkPage = LINK_PAGES.get(path);
  // Before the first navigation drops the query: a guarded app's URL to go back to.
  useState(() => rememberReturn(window.location.search));

  useEffect(() => {
    if (session && !challenged) void returnToGuardedApp();
  }, [session, challenged]);

  useEffect(() => {
    if (linkPage || path === PRIVACY_PATH) return;
    if (!session && path !== "/login") {
      const next = path !== "/" ? `?next=${encodeURIComponent(path)}` : "";
      navigate(`/login${next}`, { replace: true });
    } else if (session && (path === "/login" || path === "/")) {
      navigate(user?.role === "admin" ? "/admin" : "/work", { replace: true });
    }
  }, [session, user, path, linkPage]);

  if (linkPage)
    return (
      <Suspense fallback={<Loading />}>
        <AccountLinkPage kind={linkPage} />
      </Suspense>
    );
  if (path === PRIVACY_PATH)
    return (
      <Suspense fallback={<Loading />}>
        <PrivacyPage />
      </Suspense>
    );
  if (!session) return path === "/login" ? <LoginPage /> : null;
  return (
    <Suspense fallback={<Loading />}>
      <SignedIn path={path} />
    </Suspense>
  );
}
