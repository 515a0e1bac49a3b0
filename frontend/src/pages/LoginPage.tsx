import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api/client";
import type { Challenge, TokenResponse } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { noCapture } from "../capture/nocapture";
import { OtpField } from "../components/OtpField";
import { navigate } from "../routing/router";

/** Password, then a one-time code (email or authenticator app). Nothing here is ever captured. */
export function LoginPage() {
  const { completeLogin, notice, clearNotice } = useAuth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = "Sign in · bbauth";
  }, []);

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const next = await api.post<Challenge>("/api/auth/login", { email, password }, { auth: false });
      setChallenge(next);
      setPassword("");
      setCode("");
      setInfo(null);
      clearNotice();
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === "too_many_attempts" && err.retryAfter)
          setError(`Too many attempts. Try again in ${err.retryAfter} s.`);
        else if (err.code === "invalid_credentials") setError("Wrong email or password.");
        else setError(err.detail);
      }
    } finally {
      setBusy(false);
    }
  };

  const verify = async (e: FormEvent) => {
    e.preventDefault();
    if (!challenge?.challenge_id || code.length !== 6) return;
    setBusy(true);
    setError(null);
    try {
      const response = await api.post<TokenResponse>(
        "/api/auth/otp/verify",
        { challenge_id: challenge.challenge_id, code },
        { auth: false },
      );
      completeLogin(response);
      const next = new URLSearchParams(window.location.search).get("next");
      const safeNext = next && next.startsWith("/") && !next.startsWith("//") ? next : null;
      navigate(safeNext ?? (response.user.role === "admin" ? "/admin" : "/work"), { replace: true });
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === "challenge_closed") {
          setChallenge(null);
          setError("That sign-in attempt is over. Enter your password again.");
        } else if (err.code === "invalid_code") setError("That code is wrong or has expired.");
        else setError(err.detail);
      }
      setCode("");
    } finally {
      setBusy(false);
    }
  };

  const resend = async () => {
    if (!challenge?.challenge_id) return;
    setBusy(true);
    setError(null);
    try {
      const next = await api.post<Challenge>(
        "/api/auth/otp/resend",
        { challenge_id: challenge.challenge_id },
        { auth: false },
      );
      setChallenge(next);
      setInfo(`A new code is on its way to ${next.destination}.`);
    } catch (err) {
      if (err instanceof ApiError) setError(err.detail);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2 }}>
      <Paper sx={{ p: 4, width: "100%", maxWidth: 420 }} {...noCapture}>
        <Typography variant="h5" gutterBottom>
          bbauth
        </Typography>
        <Typography color="text.secondary" sx={{ mb: 3 }}>
          {challenge ? "Second step: your one-time code" : "Sign in to your workspace"}
        </Typography>
        {notice && !challenge && (
          <Alert severity={notice.severity} sx={{ mb: 2 }} data-testid="login-notice">
            {notice.message}
          </Alert>
        )}
        {error && (
          <Alert severity="error" sx={{ mb: 2 }} data-testid="login-error">
            {error}
          </Alert>
        )}
        {!challenge ? (
          <Stack component="form" spacing={2} onSubmit={signIn} {...noCapture} aria-label="Sign in">
            <TextField
              label="Email"
              type="email"
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              required
              autoFocus
              slotProps={{ htmlInput: { "data-testid": "login-email" } }}
            />
            <TextField
              label="Password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              slotProps={{ htmlInput: { "data-testid": "login-password" } }}
            />
            <Button type="submit" variant="contained" size="large" disabled={busy} data-testid="login-submit">
              Continue
            </Button>
          </Stack>
        ) : (
          <Stack component="form" spacing={2} onSubmit={verify} {...noCapture} aria-label="One-time code">
            <Typography data-testid="otp-destination">
              {challenge.channel === "totp"
                ? "Enter the current code from your authenticator app."
                : `We sent a 6-digit code to ${challenge.destination}.`}
            </Typography>
            <OtpField value={code} onChange={setCode} disabled={busy} autoFocus />
            {info && <Alert severity="info">{info}</Alert>}
            <Button type="submit" variant="contained" size="large" disabled={busy || code.length !== 6} data-testid="otp-submit">
              Sign in
            </Button>
            <Stack direction="row" justifyContent="space-between">
              {challenge.channel === "email" ? (
                <Button onClick={resend} disabled={busy || challenge.resends_left <= 0} data-testid="otp-resend">
                  Send a new code ({challenge.resends_left} left)
                </Button>
              ) : (
                <span />
              )}
              <Link component="button" type="button" onClick={() => { setChallenge(null); setError(null); }}>
                Start over
              </Link>
            </Stack>
          </Stack>
        )}
      </Paper>
    </Box>
  );
}
