import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import type { RecoveryCodes as NewCodes, TotpSetup, User } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { ignoreCapture } from "@bbauth/capture";
import { codeComplete, OtpField } from "../../components/OtpField";
import { ActionAlerts } from "./ActionAlerts";
import { RecoveryCodes } from "./RecoveryCodes";
import { useAction } from "./useAction";

/** Turning the authenticator app on (QR code, then a first code) and off (a current code). */
export function AuthenticatorCard() {
  const { user, updateUser } = useAuth();
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState("");
  const [freshCodes, setFreshCodes] = useState<string[] | null>(null);
  const action = useAction();
  const enabled = Boolean(user?.totp_enabled);

  const start = () =>
    action.run(async () => {
      setSetup(await api.post<TotpSetup>("/api/auth/totp/setup"));
    });
  const confirm = (e: FormEvent) => {
    e.preventDefault();
    return action.run(async () => {
      updateUser(await api.post<User>("/api/auth/totp/confirm", { code }));
      setSetup(null);
      setCode("");
      // Every app gets its recovery codes at once: a lost phone must not lock the person out.
      setFreshCodes((await api.post<NewCodes>("/api/auth/totp/recovery-codes")).codes);
      return "Authenticator app is on: sign-ins and re-checks now ask for its codes.";
    });
  };
  const disable = (e: FormEvent) => {
    e.preventDefault();
    return action.run(async () => {
      updateUser(await api.post<User>("/api/auth/totp/disable", { code }));
      setCode("");
      return "Authenticator app is off: codes go by email again.";
    });
  };

  return (
    <Paper sx={{ p: 3 }} data-testid="totp-card">
      <Stack direction="row" alignItems="center" spacing={1} sx={{ mb: 1 }}>
        <Typography variant="h6" component="h2">
          Authenticator app
        </Typography>
        <Chip size="small" label={enabled ? "On" : "Off"} color={enabled ? "success" : "default"} />
      </Stack>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        Use codes from an authenticator app (any TOTP app) instead of email codes.
      </Typography>
      <ActionAlerts action={action} testId="totp" />
      {!enabled && !setup && (
        <Button variant="contained" onClick={() => void start()} disabled={action.busy} data-testid="totp-setup">
          Set up authenticator app
        </Button>
      )}
      {!enabled && setup && (
        <Box component="form" onSubmit={confirm} {...ignoreCapture} sx={{ display: "flex", gap: 3, flexWrap: "wrap", alignItems: "flex-start" }}>
          <Box
            component="img"
            src={setup.qr_png}
            alt="QR code for your authenticator app"
            data-testid="totp-qr"
            sx={{ width: 200, height: 200, imageRendering: "pixelated", border: "1px solid #e0e4ea", borderRadius: 1 }}
          />
          <Stack spacing={1.5} sx={{ flex: 1, minWidth: 260 }}>
            <Typography>1. Scan the QR code with the app, or type this key:</Typography>
            <Typography
              sx={{ fontFamily: "monospace", fontSize: 16, wordBreak: "break-all", bgcolor: "#f4f6f9", p: 1, borderRadius: 1 }}
              data-testid="totp-secret"
            >
              {setup.secret}
            </Typography>
            <Typography>2. Enter the code the app shows:</Typography>
            <OtpField id="totp-code" value={code} onChange={setCode} disabled={action.busy} />
            <Stack direction="row" spacing={1}>
              <Button type="submit" variant="contained" disabled={action.busy || !codeComplete(code)} data-testid="totp-confirm">
                Turn on
              </Button>
              <Button onClick={() => setSetup(null)} disabled={action.busy}>
                Cancel
              </Button>
            </Stack>
          </Stack>
        </Box>
      )}
      {enabled && (
        <Stack component="form" onSubmit={disable} {...ignoreCapture} spacing={1.5} sx={{ maxWidth: 320 }}>
          <Typography>To turn it off, enter a current code from the app (or a recovery code if the app is lost).</Typography>
          <OtpField id="totp-disable-code" value={code} onChange={setCode} disabled={action.busy} allowRecovery />
          <Button type="submit" variant="outlined" color="error" disabled={action.busy || !codeComplete(code)}>
            Turn off
          </Button>
        </Stack>
      )}
      {enabled && <RecoveryCodes fresh={freshCodes} />}
    </Paper>
  );
}
