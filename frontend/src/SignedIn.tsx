import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Container from "@mui/material/Container";
import IconButton from "@mui/material/IconButton";
import Menu from "@mui/material/Menu";
import MenuItem from "@mui/material/MenuItem";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import { Suspense, useState, type ReactNode } from "react";
import { useAuth } from "./auth/AuthContext";
import { Loading } from "./components/Loading";
import { ReauthDialog } from "./components/ReauthDialog";
import { StepUpDialog } from "./components/StepUpDialog";
import { ThatWasMe } from "./components/ThatWasMe";
import { TrustAnnouncer, visuallyHidden } from "./components/TrustAnnouncer";
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

/** The pages of the app bar: path, name (also the page's h1). */
function pagesFor(role: string | undefined): [string, string][] {
  return [["/work", "Work"], ["/account", "Account"], ...(role === "admin" ? ([["/admin", "Security dashboard"]] as [string, string][]) : [])];
}

function Shell({ path, children }: { path: string; children: ReactNode }) {
  const { user, logout } = useAuth();
  const trust = useTrust();
  const links = pagesFor(user?.role);
  const current = links.find(([href]) => href === path)?.[1] ?? "Work";
  const go = (href: string) => (e: { preventDefault: () => void }) => {
    e.preventDefault();
    navigate(href);
  };
  return (
    <Box sx={{ minHeight: "100vh" }}>
      <AppBar position="sticky" color="primary" component="header">
        <Toolbar sx={{ gap: 1, px: { xs: 1, sm: 2 } }}>
          <PhoneMenu links={links} path={path} onGo={(href) => navigate(href)} onSignOut={() => void logout()} />
          <Typography variant="h6" component="div" sx={{ mr: { xs: 0, sm: 2 } }}>
            bbauth
          </Typography>
          <Box component="nav" aria-label="Pages" sx={{ display: { xs: "none", sm: "flex" }, gap: 1 }}>
            {links.map(([href, label]) => (
              <Button
                key={href}
                color="inherit"
                href={href}
                onClick={go(href)}
                aria-current={path === href ? "page" : undefined}
                sx={{ borderBottom: path === href ? "2px solid #fff" : "2px solid transparent", borderRadius: 0 }}
              >
                {label}
              </Button>
            ))}
          </Box>
          <Box sx={{ flexGrow: 1 }} />
          <TrustBadge snapshot={trust} />
          <Typography variant="body2" sx={{ mx: 1, display: { xs: "none", md: "block" } }} data-testid="signed-in-as">
            {user?.email}
          </Typography>
          <Button
            color="inherit"
            variant="outlined"
            size="small"
            onClick={() => void logout()}
            data-testid="logout"
            sx={{ display: { xs: "none", sm: "inline-flex" }, flexShrink: 0 }}
          >
            Sign out
          </Button>
        </Toolbar>
      </AppBar>
      <TrustAnnouncer snapshot={trust} />
      <Container component="main" maxWidth="xl" sx={{ py: { xs: 2, sm: 3 }, px: { xs: 1.5, sm: 3 } }}>
        <Typography variant="h4" component="h1" sx={visuallyHidden}>
          {current}
        </Typography>
        <Suspense fallback={<Loading />}>{children}</Suspense>
      </Container>
    </Box>
  );
}

/** On phones the pages and "Sign out" fold into a menu at the left of the bar. */
function PhoneMenu({
  links,
  path,
  onGo,
  onSignOut,
}: {
  links: [string, string][];
  path: string;
  onGo: (href: string) => void;
  onSignOut: () => void;
}) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const close = () => setAnchor(null);
  return (
    <Box sx={{ display: { xs: "block", sm: "none" } }}>
      <IconButton
        color="inherit"
        aria-label="Menu"
        aria-haspopup="menu"
        aria-expanded={anchor ? "true" : undefined}
        aria-controls={anchor ? "app-menu" : undefined}
        onClick={(e) => setAnchor(e.currentTarget)}
        data-testid="app-menu"
      >
        <svg width={24} height={24} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path d="M3 18h18v-2H3zm0-5h18v-2H3zm0-7v2h18V6z" fill="currentColor" />
        </svg>
      </IconButton>
      <Menu id="app-menu" anchorEl={anchor} open={Boolean(anchor)} onClose={close}>
        {links.map(([href, label]) => (
          <MenuItem
            key={href}
            selected={path === href}
            aria-current={path === href ? "page" : undefined}
            onClick={() => {
              close();
              onGo(href);
            }}
          >
            {label}
          </MenuItem>
        ))}
        <MenuItem
          onClick={() => {
            close();
            onSignOut();
          }}
          data-testid="menu-logout"
        >
          Sign out
        </MenuItem>
      </Menu>
    </Box>
  );
}
