import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useState } from "react";
import { api } from "../../api/client";
import type { RecoveryCodes as NewCodes, RecoveryStatus } from "../../api/types";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";

export interface RecoveryCodesProps {
  /** A set made elsewhere (right after the app was turned on), to show once. */
  fresh?: string[] | null;
}

/** The authenticator app's recovery codes: how many are left, and a new set shown once. */
export function RecoveryCodes({ fresh = null }: RecoveryCodesProps) {
  const [remaining, setRemaining] = useState<number | null>(null);
  const [shown, setShown] = useState<string[] | null>(fresh);
  const action = useAction();

  const refresh = useCallback(async () => {
    setRemaining((await api.get<RecoveryStatus>("/api/auth/totp/recovery-codes")).remaining);
  }, []);
  useEffect(() => {
    void refresh().catch(() => setRemaining(null));
  }, [refresh, fresh]);

  const replace = () =>
    action.run(async () => {
      const made = await api.post<NewCodes>("/api/auth/totp/recovery-codes");
      setShown(made.codes);
      setRemaining(made.remaining);
      return "New recovery codes: the earlier ones no longer work.";
    });
  const download = () => {
    const blob = new Blob([`bbauth recovery codes (each works once)\n\n${(shown ?? []).join("\n")}\n`], { type: "text/plain" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "bbauth-recovery-codes.txt";
    link.click();
    URL.revokeObjectURL(link.href);
  };

  return (
    <Stack spacing={1.5} sx={{ mt: 3 }} data-testid="recovery-codes">
      <Typography variant="subtitle1" component="h3">
        Recovery codes
      </Typography>
      <Typography color="text.secondary" data-testid="recovery-remaining">
        {remaining === null
          ? "If you lose the app, a recovery code answers in its place, once."
          : `${remaining} unused ${remaining === 1 ? "code" : "codes"} left. If you lose the app, each answers in its place once.`}
      </Typography>
      <ActionAlerts action={action} testId="recovery" />
      {shown && (
        <Alert severity="warning" role="status">
          Keep these somewhere safe, away from this device: they are shown only now.
          <Box
            component="ul"
            aria-label="Your recovery codes"
            sx={{ columns: 2, fontFamily: "monospace", fontSize: 16, pl: 2, my: 1 }}
            data-testid="recovery-list"
          >
            {shown.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </Box>
          <Stack direction="row" spacing={1}>
            <Button size="small" onClick={download}>
              Download as a file
            </Button>
            <Button size="small" onClick={() => void navigator.clipboard?.writeText(shown.join("\n"))}>
              Copy
            </Button>
            <Button size="small" onClick={() => setShown(null)}>
              I have kept them
            </Button>
          </Stack>
        </Alert>
      )}
      <Box>
        <Button variant="outlined" onClick={() => void replace()} disabled={action.busy} data-testid="recovery-replace">
          {remaining ? "Make new recovery codes" : "Make recovery codes"}
        </Button>
      </Box>
    </Stack>
  );
}
