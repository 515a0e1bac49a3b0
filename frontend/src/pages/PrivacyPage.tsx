import Box from "@mui/material/Box";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import { useEffect } from "react";
import { CONSENT_SECTIONS, CONSENT_VERSION } from "../privacy/consentText";

/** "What bbauth collects": the consent text and what the server never sees, open to anyone. */
export function PrivacyPage() {
  useEffect(() => {
    document.title = "What bbauth collects · bbauth";
  }, []);
  return (
    <Box component="main" sx={{ minHeight: "100vh", display: "grid", placeItems: "center", p: 2 }}>
      <Paper sx={{ p: 4, width: "100%", maxWidth: 720 }} data-testid="privacy-page">
        <Typography variant="h4" component="h1" gutterBottom>
          What bbauth collects
        </Typography>
        <Typography color="text.secondary" sx={{ mb: 3 }}>
          bbauth checks that the person using a session is the one who signed in, from how they type and point.
          Behavioural patterns are biometric data: capture starts only after you agree, and you can take that back.
        </Typography>
        {CONSENT_SECTIONS.map((section) => (
          <Box key={section.title} component="section" sx={{ mb: 2 }}>
            <Typography variant="h6" component="h2">
              {section.title}
            </Typography>
            <Typography>{section.text}</Typography>
          </Box>
        ))}
        <Box component="section" sx={{ mb: 2 }}>
          <Typography variant="h6" component="h2">
            What the server never sees
          </Typography>
          <Typography>
            The characters you type, the contents of password and one-time-code fields, and anything a page marks as
            private are never captured. Raw key and pointer events stay in the memory of the server that scores
            them and are never written down.
          </Typography>
        </Box>
        <Box component="section" sx={{ mb: 2 }}>
          <Typography variant="h6" component="h2">
            Your rights
          </Typography>
          <Typography>
            On your Account page you can withdraw consent (capture stops, and actions that need fresh trust ask for a
            one-time code), download everything behavioural bbauth keeps about you as JSON, and delete it (bbauth
            then learns your behaviour again from scratch, if you consent). Withdrawing and deleting ask for a code
            first, so nobody holding your session can do it for you.
          </Typography>
        </Box>
        <Typography variant="body2" color="text.secondary">
          Consent text version {CONSENT_VERSION}. <Link href="/account">Your Account page</Link> ·{" "}
          <Link href="/login">Sign in</Link>
        </Typography>
      </Paper>
    </Box>
  );
}
