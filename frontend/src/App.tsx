import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Container from "@mui/material/Container";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import { useEffect, useState, type ReactNode } from "react";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import type { DpopKey } from "./auth/dpop";
import { DpopContext, defaultDpopKey } from "./auth/DpopContext";
import { rememberReturn, returnToGuardedApp } from "./auth/forwardAuth";
import { ReauthDialog } from "./components/ReauthDialog";
import { StepUpDialog } from "./components/StepUpDialog";
import { TrustBadge } from "./components/TrustPanel";
import { AccountLinkPage, type LinkKind } from "./pages/AccountLinkPage";
import { AccountPage } from "./pages/AccountPage";
import { AdminPage } from "./pages/AdminPage";
import { LoginPage } from "./pages/LoginPage";
import { WorkPage } from "./pages/WorkPage";
import { TrustProvider, useTrust } from "./realtime/TrustContext";
import { defaultSocketFactory, type SocketFactory } from "@bbauth/capture";
import { SocketFactoryContext } from "./realtime/SocketFactoryContext";
import { navigate, usePathname } from "./routing/router";

export interface AppProps {
  /** How sockets are opened (a stand-in in unit tests). */
  socketFactory?: SocketFactory;
  /** The tab's DPoP key (IndexedDB by default). */
  dpop?: DpopKey;
}

export function App({ socketFactory, dpop }: AppProps) {
  return (
    <SocketFactoryContext.Provider value={socketFactory ?? defaultSocketFactory}>
      <DpopContext.Provider value={dpop ?? defaultDpopKey}>
        <AuthProvider>
          <Routes />
        </AuthProvider>
      </DpopContext.Provider>
    </SocketFactoryContext.Provider>
  );
}

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
    if (linkPage) return;
    if (!session && path !== "/login") {
      const next = path !== "/" ? `?next=${encodeURIComponent(path)}` : "";
      navigate(`/login${next}`, { replace: true });
    } else if (session && (path === "/login" || path === "/")) {
      navigate(user?.role === "admin" ? "/admin" : "/work", { replace: true });
    }
  }, [session, user, path, linkPage]);

  if (linkPage) return <AccountLinkPage kind={linkPage} />;
  if (!session) return path === "/login" ? <LoginPage /> : null;
  let page: ReactNode;
  if (path === "/admin") page = <AdminPage />;
  else if (path === "/account") page = <AccountPage />;
  else page = <WorkPage />;
  return (
    <TrustProvider>
      <Shell path={path}>{page}</Shell>
      <StepUpDialog />
      <ReauthDialog />
    </TrustProvider>
  );
}

function Shell({ path, children }: { path: string; children: ReactNode }) {
  const { user, logout } = useAuth();
  const trust = useTrust();
  const links: [string, string][] = [
    ["/work", "Work"],
    ["/account", "Account"],
    ...(user?.role === "admin" ? ([["/admin", "Security dashboard"]] as [string, string][]) : []),
  ];
  return (
    <Box sx={{ minHeight: "100vh" }}>
      <AppBar position="sticky" color="primary">
        <Toolbar sx={{ gap: 1 }}>
          <Typography variant="h6" sx={{ mr: 2 }}>
            bbauth
          </Typography>
          {links.map(([href, label]) => (
            <Button
              key={href}
              color="inherit"
              href={href}
              onClick={(e) => {
                e.preventDefault();
                navigate(href);
              }}
              sx={{ opacity: path === href ? 1 : 0.75, borderBottom: path === href ? "2px solid #fff" : "2px solid transparent", borderRadius: 0 }}
            >
              {label}
            </Button>
          ))}
          <Box sx={{ flexGrow: 1 }} />
          <TrustBadge snapshot={trust} />
          <Typography variant="body2" sx={{ mx: 1, display: { xs: "none", sm: "block" } }} data-testid="signed-in-as">
            {user?.email}
          </Typography>
          <Button color="inherit" variant="outlined" size="small" onClick={() => void logout()} data-testid="logout">
            Sign out
          </Button>
        </Toolbar>
      </AppBar>
      <Container maxWidth="xl" sx={{ py: 3 }}>
        {children}
      </Container>
    </Box>
  );
}
