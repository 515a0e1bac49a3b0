import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import { api } from "../../api/client";
import { errorMessage } from "../../api/messages";
import type { AdminUser } from "../../api/types";
import { useLoaded } from "../../api/useLoaded";
import { CardTitle } from "../../components/CardTitle";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";

type UserAction = { kind: "unlock" | "reset"; user: AdminUser };

const COLUMNS = ["User", "Second factor", "Status", { label: "Sessions", align: "right" }, { label: "Actions", align: "right" }] as const;

/** GET /api/admin/users. */
async function loadUsers(): Promise<AdminUser[]> {
  return (await api.get<{ users: AdminUser[] }>("/api/admin/users")).users;
}

/** Whether an account has anything for "Unlock" to lift: a code lock, password wait or freeze. */
function isHeld(user: AdminUser): boolean {
  return Boolean(user.codes_locked || user.frozen) || user.failed_codes > 0 || waitsForPassword(user);
}

function waitsForPassword(user: AdminUser): boolean {
  return user.locked_until !== null && Date.parse(user.locked_until) > Date.now();
}

/** Accounts and their recovery: unlock (codes, password waits, freeze), reset the second factor. */
export function UsersCard() {
  const users = useLoaded(loadUsers);
  const [action, setAction] = useState<UserAction | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  // What an action came to, or else why the list could not be loaded.
  const notice = outcome ?? (users.error ? { ok: false, text: users.error } : null);

  const run = async () => {
    if (!action) return;
    const { kind, user } = action;
    setBusy(true);
    try {
      if (kind === "unlock") await api.post(`/api/admin/users/${user.id}/unlock`);
      else await api.post(`/api/admin/users/${user.id}/reset-factors`, { reason: reason.trim() });
      setOutcome({
        ok: true,
        text: kind === "unlock" ? `${user.email} is unlocked.` : `Second factor of ${user.email} was reset; their sessions ended.`,
      });
    } catch (err) {
      setOutcome({ ok: false, text: errorMessage(err) });
    } finally {
      setBusy(false);
      setAction(null);
      setReason("");
      void users.reload();
    }
  };

  return (
    <Paper sx={{ p: 2 }}>
      <CardTitle title="Accounts" onRefresh={users.reload} />
      {notice && (
        <Alert
          severity={notice.ok ? "success" : "error"}
          sx={{ mb: 1 }}
          onClose={() => {
            setOutcome(null);
            users.dismiss();
          }}
          data-testid="users-outcome"
        >
          {notice.text}
        </Alert>
      )}
      <DataTable columns={COLUMNS} testId="users-table">
        {(users.data ?? []).map((u) => (
          <TableRow key={u.id} data-testid="user-row" data-email={u.email}>
            <TableCell>
              <Typography variant="body2" sx={{ fontWeight: 600 }}>
                {u.email}
              </Typography>
              <Typography variant="caption" color="text.secondary">
                {u.display_name} · {u.role}
              </Typography>
            </TableCell>
            <TableCell>{u.totp_enabled ? "Authenticator app" : "Email codes"}</TableCell>
            <TableCell>
              <Stack direction="row" spacing={0.5} flexWrap="wrap" useFlexGap>
                {u.frozen && <Chip size="small" color="warning" label="Frozen" />}
                {u.codes_locked && <Chip size="small" color="error" label="Codes locked" />}
                {u.failed_codes > 0 && <Chip size="small" variant="outlined" label={`${u.failed_codes} wrong codes`} />}
                {waitsForPassword(u) && <Chip size="small" variant="outlined" label="Password wait" />}
                {!isHeld(u) && (
                  <Typography variant="body2" color="text.secondary">
                    OK
                  </Typography>
                )}
              </Stack>
            </TableCell>
            <TableCell align="right">{u.active_sessions}</TableCell>
            <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
              <Button size="small" onClick={() => setAction({ kind: "unlock", user: u })} disabled={!isHeld(u)} data-testid="user-unlock">
                Unlock
              </Button>
              <Button size="small" color="error" onClick={() => setAction({ kind: "reset", user: u })} data-testid="user-reset">
                Reset second factor
              </Button>
            </TableCell>
          </TableRow>
        ))}
      </DataTable>
      <ConfirmDialog
        open={action !== null}
        title={action?.kind === "unlock" ? "Unlock this account?" : "Reset the second factor?"}
        message={
          action?.kind === "unlock"
            ? `The code lock, password waits and any freeze of ${action.user.email} are lifted.`
            : `The authenticator app and behavioural profile of ${action?.user.email ?? "this user"} are removed and ` +
              "every session of theirs ends: codes go by email and bbauth learns their behaviour again. They are " +
              "told by email. This needs a fresh code of yours."
        }
        confirmLabel={action?.kind === "unlock" ? "Unlock" : "Reset"}
        danger={action?.kind === "reset"}
        busy={busy}
        onConfirm={() => void run()}
        onCancel={() => setAction(null)}
      >
        {action?.kind === "reset" && (
          <TextField
            id="reset-reason"
            label="Reason (for the audit log)"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            fullWidth
            size="small"
            sx={{ mt: 2 }}
            slotProps={{ htmlInput: { maxLength: 200 } }}
          />
        )}
      </ConfirmDialog>
    </Paper>
  );
}
