import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { useEffect, useState } from "react";
import { api, ApiError } from "../api/client";
import { errorMessage } from "../api/messages";
import type { LinkOutcome } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { ignoreCapture } from "@bbauth/capture";
import { navigate } from "../routing/router";

export type LinkKind = "secure" | "unlock";

interface LinkPageText {
  title: string;
  paragraphs: string[];
  /** What pressing the button will do, point by point. */
  effects: string[];
  act: string;
}

const PAGES: Record<LinkKind, LinkPageText> = {
  secure: {
    title: "Was this change not yours?",
    paragraphs: [
      "We emailed you because a security setting of your account changed. If you did not make that change, press the button below. It will:",
    ],
    effects: [
      "put back what the change replaced (your authenticator app, password, email address or behavioural profile);",
      "sign out every session of your account, on every device, including any that someone else may hold;",
      "freeze security changes on the account until you sign in again with your own password and code.",
    ],
    act: "Undo the change and sign out everywhere",
  },
  unlock: {
    title: "Unlock one-time codes",
    paragraphs: [
      "bbauth stopped accepting one-time codes for your account after too many wrong ones.",
      "If those were yours, press the button below to accept codes again. If they were not, someone may know your password: leave codes locked and ask an administrator, or change your password once you are signed in.",
    ],
    effects: [],
    act: "Unlock codes",
  },
};

function outcomeText({ action, revoked_sessions: n }: LinkOutcome): string {
  if (action === "unlocked") return "Done. One-time codes work again for your account.";
  const ended = n === 1 ? "1 session was" : `${n} sessions were`;
  return `Done. The change was undone and ${ended} signed out. Security changes stay frozen until you sign in again.`;
}

/**
 * The page a security notice's link opens. Opening it changes nothing (mail scanners fetch
 * links); only pressing the button acts, once.
 */
export function AccountLinkPage({ kind }: { kind: LinkKind }) {
  const { session, endSession } = useAuth();
  const [token] = useState(() => new URLSearchParams(window.location.search).get("token") ?? "");
  const [outcome, setOutcome] = useState<LinkOutcome | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const page = PAGES[kind];

  useEffect(() => {
    document.title = `${page.title} · bbauth`;
  }, [page.title]);

  const act = async () => {
    setBusy(true);
    setError(null);
    try {
      setOutcome(await api.post<LinkOutcome>("/api/account/links", { token }, { auth: false }));
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === "challenge_closed"
          ? "This link was used already or has expired. Nothing was changed."
          : errorMessage(err),
      );
    } finally {
      setBusy(false);
    }
  };

  // After "secured" this tab's own session (if it had one) is over too; after "unlocked" it goes on.
  const next = () => {
    if (outcome?.action === "secured" && session) endSession("Every session of your account was signed out. Sign in again.");
    else navigate(session ? "/work" : "/login", { replace: true });
  };

  return (
    <Box component="main" sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2 }}>
      <Paper sx={{ p: { xs: 2.5, sm: 4 }, width: "100%", maxWidth: 560 }} {...ignoreCapture} data-testid="link-page" data-kind={kind}>
        <Typography variant="h5" component="h1" gutterBottom>
          {page.title}
        </Typography>
        {outcome ? (
          <>
            <Alert severity="success" sx={{ mb: 2 }} data-testid="link-result" data-action={outcome.action}>
              {outcomeText(outcome)}
            </Alert>
            <Button variant="contained" onClick={next} data-testid="link-next">
              {outcome.action === "secured" ? "Sign in again" : session ? "Continue" : "Sign in"}
            </Button>
          </>
        ) : (
          <>
            {page.paragraphs.map((text) => (
              <Typography key={text} sx={{ mb: 1 }}>
                {text}
              </Typography>
            ))}
            {page.effects.length > 0 && (
              <Box component="ul" sx={{ mt: 0, pl: 3 }}>
                {page.effects.map((text) => (
                  <Typography component="li" key={text}>
                    {text}
                  </Typography>
                ))}
              </Box>
            )}
            {error && (
              <Alert severity="error" sx={{ my: 2 }} data-testid="link-error">
                {error}
              </Alert>
            )}
            {!token && (
              <Alert severity="error" sx={{ my: 2 }}>
                This link is incomplete. Open it again from the email, as a whole.
              </Alert>
            )}
            <Box sx={{ display: "flex", gap: 1, mt: 2, flexWrap: "wrap" }}>
              <Button
                variant="contained"
                color={kind === "secure" ? "error" : "primary"}
                onClick={() => void act()}
                disabled={busy || !token}
                data-testid="link-act"
              >
                {page.act}
              </Button>
              <Button onClick={() => navigate("/login", { replace: true })} disabled={busy}>
                Leave it as it is
              </Button>
            </Box>
          </>
        )}
      </Paper>
    </Box>
  );
}
