import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Container from "@mui/material/Container";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import { Suspense, type ReactNode } from "react";
import { useAuth } from "./auth/AuthContext";
import { Loading } from "./components/Loading";
import { ReauthDialog } from "./components/ReauthDialog";
import { StepUpDialog } from "./components/StepUpDialog";
import { ThatWasMe } from "./components/ThatWasMe";
import { TrustBadge } from "./components/TrustPanel";
import { TrustProvider, useTrust } from "./realtime/TrustContext";
import { navigate } from "./routing/router";
import { lazyPage } from "./routing/lazyPage";

// Each page is fetched when first shown.
const AccountPage = lazyPage(() => import("./pages/AccountPage"), "AccountPage");
const AdminPage = lazyPage(() => import("./pages/AdminPage"), "AdminPage");
const WorkPage = lazyPage(() => import("./pages/WorkPage"), "WorkPage");

/** The app of a signed-in person: the live trust channel, the page at `path`, its dialogs. */
export function SignedIn({ path }: { path: string }) {
  let page: ReactNode;
  if (path === "/admin") page = <AdminPage />;
  else if (path === "/account") page = <AccountPage />;
  else page = <WorkPage />;
  return (
    <TrustProvider>
      <Shell path={path}>{page}</Shell>
      <StepUpDialog />
      <ReauthDialog />
      <ThatWasMe />
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
        <Suspense fallback={<Loading />}>{children}</Suspense>
      </Container>
    </Box>
  );
}
