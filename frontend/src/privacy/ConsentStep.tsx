import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Link from "@mui/material/Link";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import { errorMessage } from "../api/messages";
import { CONSENT_SECTIONS } from "./consentText";
import { useConsent } from "./ConsentContext";

/**
 * The consent step: shown once the server says the person has not consented (and they did not
 * choose "Not now" in this tab). Capture starts only after "I agree" is recorded.
 */
export function ConsentStep() {
  const consent = useConsent();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = consent.status !== null && !consent.status.consented && !consent.deferred;

  const agree = async () => {
    setBusy(true);
    setError(null);
    try {
      await consent.give();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} aria-labelledby="consent-title" aria-describedby="consent-intro" data-testid="consent-step" maxWidth="sm">
      <DialogTitle id="consent-title">May bbauth check it's you by how you type and point?</DialogTitle>
      <DialogContent>
        <Typography id="consent-intro" sx={{ mb: 2 }}>
          Behavioural patterns are biometric data: nothing is captured unless you agree.
        </Typography>
        {CONSENT_SECTIONS.map((section) => (
          <div key={section.title}>
            <Typography variant="subtitle2" component="h3">
              {section.title}
            </Typography>
            <Typography variant="body2" sx={{ mb: 1.5 }}>
              {section.text}
            </Typography>
          </div>
        ))}
        <Link href="/privacy" target="_blank" rel="noopener" data-testid="consent-privacy-link">
          What bbauth collects (opens in a new tab)
        </Link>
        {error && (
          <Alert severity="error" sx={{ mt: 2 }} role="alert">
            {error}
          </Alert>
        )}
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2, justifyContent: "space-between" }}>
        <Button onClick={consent.defer} disabled={busy} data-testid="consent-later">
          Not now
        </Button>
        <Button variant="contained" onClick={() => void agree()} disabled={busy} data-testid="consent-agree">
          I agree
        </Button>
      </DialogActions>
    </Dialog>
  );
}
