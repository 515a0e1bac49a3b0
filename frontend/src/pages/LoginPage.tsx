import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Paper from "@mui/material/Paper";
import Link from "@mui/material/Link";
import Typography from "@mui/material/Typography";
import { Suspense, useEffect, useState } from "react";
import type { Challenge, TokenResponse } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { rememberDeviceToken } from "../auth/deviceTokens";
import { ignoreCapture } from "@bbauth/capture";
import { navigate } from "../routing/router";
import { Loading } from "../components/Loading";
import { SignInForm } from "./login/SignInForm";
import { PASSWORD_ONLY, useAuthOptions } from "./login/useAuthOptions";
import { lazyPage } from "../routing/lazyPage";

// The first download holds the sign-in form only; the code step and sign-up come when needed.
const CodeStep = lazyPage(() => import("./login/CodeStep"), "CodeStep");
const SignUpForm = lazyPage(() => import("./login/SignUpForm"), "SignUpForm");

type Mode = "sign-in" | "sign-up";

/** Password (or a new account), then a one-time code. Nothing here is ever captured. */
export function LoginPage() {
  const { completeLogin, notice, clearNotice } = useAuth();
  const [mode, setMode] = useState<Mode>("sign-in");
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [startOver, setStartOver] = useState<string | null>(null);
  const options = useAuthOptions();
  const ways = options ?? PASSWORD_ONLY;

  useEffect(() => {
    document.title = mode === "sign-up" ? "Create an account · bbauth" : "Sign in · bbauth";
  }, [mode]);

  const challenged = (next: Challenge) => {
    setChallenge(next);
    setStartOver(null);
    clearNotice();
  };

  const signedIn = (response: TokenResponse) => {
    if (response.device_token) rememberDeviceToken(response.user.email, response.device_token);
    completeLogin(response);
    const next = new URLSearchParams(window.location.search).get("next");
    const safeNext = next && next.startsWith("/") && !next.startsWith("//") ? next : null;
    navigate(safeNext ?? (response.user.role === "admin" ? "/admin" : "/work"), { replace: true });
  };

  const switchTo = (next: Mode) => {
    setMode(next);
    setStartOver(null);
  };

  const subtitle = challenge
    ? challenge.purpose === "registration"
      ? "Confirm your email address"
      : "Second step: your one-time code"
    : mode === "sign-up"
      ? "Create an account"
      : "Sign in to your workspace";
  return (
    <Box component="main" sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2 }}>
      <Paper
        sx={{ p: { xs: 2.5, sm: 4 }, width: "100%", maxWidth: 420 }}
        {...ignoreCapture}
        data-testid="login-card"
        data-sign-in-options={options ? "known" : "unknown"}
      >
        <Typography variant="h5" component="h1" gutterBottom>
          bbauth
        </Typography>
        <Typography color="text.secondary" sx={{ mb: 3 }}>
          {subtitle}
        </Typography>
        {notice && !challenge && (
          <Alert severity={notice.severity} sx={{ mb: 2 }} data-testid="login-notice">
            {notice.message}
          </Alert>
        )}
        {startOver && !challenge && (
          <Alert severity="warning" sx={{ mb: 2 }} data-testid="login-start-over">
            {startOver}
          </Alert>
        )}
        <Suspense fallback={<Loading />}>
          {challenge ? (
            <CodeStep
              challenge={challenge}
              onSignedIn={signedIn}
              onStartOver={(why) => {
                setChallenge(null);
                setStartOver(why ?? null);
              }}
            />
          ) : mode === "sign-up" ? (
            <SignUpForm onChallenge={challenged} onSignIn={() => switchTo("sign-in")} />
          ) : (
            <SignInForm
              onChallenge={challenged}
              onCreateAccount={() => switchTo("sign-up")}
              passkeyLogin={ways.passkey_login}
              onSignedIn={signedIn}
            />
          )}
        </Suspense>
        <Typography variant="body2" sx={{ mt: 3 }}>
          <Link href="/privacy" data-testid="login-privacy-link">
            What bbauth collects
          </Link>
        </Typography>
      </Paper>
    </Box>
  );
}
