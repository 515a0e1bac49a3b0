import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useState } from "react";
import { api } from "../../api/client";
import type { NoticeKind, SecurityNotice } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { formatTime } from "../../format";
import { cardsOnPhones } from "../../components/DataTable";

export const NOTICE_WORDS: Record<NoticeKind, string> = {
  totp_enabled: "Authenticator app added",
  totp_disabled: "Authenticator app removed",
  password_changed: "Password changed",
  email_changed: "Email address changed",
  enrollment_reset: "Behavioural profile reset",
  factors_reset: "Second factor reset by an administrator",
  codes_locked: "One-time codes locked after too many wrong ones",
  session_revoked_codes: "A session ended after too many wrong codes",
  passkey_added: "Passkey added",
  passkey_removed: "Passkey removed",
  passkey_cloned: "A copy of a passkey was refused",
  recovery_codes_made: "New recovery codes made",
  recovery_code_used: "A recovery code was used",
};

function describe(kind: string): string {
  return NOTICE_WORDS[kind as NoticeKind] ?? kind.replace(/_/g, " ");
}

/** The security notices mailed to the person, newest first. */
export function NoticesCard() {
  const { user } = useAuth();
  const [notices, setNotices] = useState<SecurityNotice[] | null>(null);

  const load = useCallback(async () => {
    try {
      setNotices((await api.get<{ notices: SecurityNotice[] }>("/api/account/notices")).notices);
    } catch {
      // handled globally
    }
  }, []);
  // A change made on this page (a new user object) adds a notice.
  useEffect(() => {
    void load();
  }, [load, user]);

  return (
    <Paper sx={{ p: 3 }} data-testid="notices-card">
      <Stack direction="row" alignItems="center" justifyContent="space-between" sx={{ mb: 1 }}>
        <Typography variant="h6" component="h2">
          Security notices
        </Typography>
        <Button size="small" onClick={() => void load()}>
          Refresh
        </Button>
      </Stack>
      <Typography color="text.secondary" sx={{ mb: 1 }}>
        Every change to how your account is protected is emailed to you, with a link to undo it if it was not you.
      </Typography>
      {notices === null ? (
        <Typography color="text.secondary">Loading…</Typography>
      ) : notices.length === 0 ? (
        <Typography color="text.secondary">No notices yet.</Typography>
      ) : (
        <Table size="small" aria-label="Security notices" sx={cardsOnPhones(["What", "When", "From", ""])}>
          <TableHead>
            <TableRow>
              <TableCell>What</TableCell>
              <TableCell>When</TableCell>
              <TableCell>From</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {notices.map((n) => (
              <TableRow key={n.id} data-testid="notice-row" data-kind={n.kind}>
                <TableCell>{describe(n.kind)}</TableCell>
                <TableCell>{formatTime(n.at)}</TableCell>
                <TableCell>{n.ip || "—"}</TableCell>
                <TableCell align="right">
                  {n.link_used && (
                    <Chip size="small" color="warning" label={n.kind === "codes_locked" ? "Unlocked by link" : "Reported as not you"} />
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Paper>
  );
}
