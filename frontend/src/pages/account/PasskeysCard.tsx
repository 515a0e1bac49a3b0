import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { api } from "../../api/client";
import { passkeysAvailable, registerPasskey } from "../../api/passkeys";
import type { Passkey, PasskeyList } from "../../api/types";
import { ignoreCapture } from "@bbauth/capture";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { formatTime } from "../../format";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";
import { cardsOnPhones } from "../../components/DataTable";

const KIND: Record<string, string> = { platform: "This device", "cross-platform": "Security key", unknown: "Passkey" };

/** The person's passkeys: add one on this device (after a fresh step-up), see, rename and remove them. */
export function PasskeysCard() {
  const [passkeys, setPasskeys] = useState<Passkey[]>([]);
  const [name, setName] = useState("");
  const [removing, setRemoving] = useState<Passkey | null>(null);
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const renameButtons = useRef(new Map<string, HTMLButtonElement>());
  const refocus = useRef<string | null>(null);
  const action = useAction();
  const supported = passkeysAvailable();

  const load = useCallback(async () => {
    try {
      setPasskeys((await api.get<PasskeyList>("/api/account/passkeys")).passkeys);
    } catch {
      // handled globally
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const add = (e: FormEvent) => {
    e.preventDefault();
    return action.run(async () => {
      const made = await registerPasskey(name.trim() || "Passkey");
      setName("");
      await load();
      return `Passkey "${made.name}" added: it now answers sign-ins and re-checks first.`;
    });
  };
  const rename = (e: FormEvent) => {
    e.preventDefault();
    const target = renaming;
    if (!target || !target.name.trim()) return;
    return action.run(async () => {
      const renamed = await api.patch<Passkey>(`/api/account/passkeys/${target.id}`, { name: target.name.trim() });
      setPasskeys((all) => all.map((p) => (p.id === renamed.id ? renamed : p)));
      stopRenaming();
      return `Passkey renamed to "${renamed.name}".`;
    });
  };
  const stopRenaming = () => {
    refocus.current = renaming?.id ?? null;
    setRenaming(null);
  };
  const cancelOnEscape = (e: KeyboardEvent) => {
    if (e.key === "Escape") stopRenaming();
  };
  // The edit closed: the focus goes back to the row's Rename button (once it is enabled again).
  useEffect(() => {
    if (renaming !== null || action.busy || refocus.current === null) return;
    renameButtons.current.get(refocus.current)?.focus();
    refocus.current = null;
  }, [renaming, action.busy]);
  const remove = async () => {
    const target = removing;
    setRemoving(null);
    if (!target) return;
    await action.run(async () => {
      setPasskeys((await api.delete<PasskeyList>(`/api/account/passkeys/${target.id}`)).passkeys);
      return `Passkey "${target.name}" removed.`;
    });
  };

  return (
    <Paper sx={{ p: 3 }} data-testid="passkeys-card">
      <Stack direction="row" alignItems="center" spacing={1} sx={{ mb: 1 }}>
        <Typography variant="h6" component="h2">
          Passkeys
        </Typography>
        <Chip size="small" label={passkeys.length ? `${passkeys.length} on` : "None"} color={passkeys.length ? "success" : "default"} />
      </Stack>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        A passkey signs you in and answers re-checks with one touch of this device (fingerprint, face or PIN). It cannot be
        phished, and it proves you are at this device.
      </Typography>
      <ActionAlerts action={action} testId="passkey" />
      {passkeys.length > 0 && (
        <Table size="small" sx={[{ mb: 2 }, cardsOnPhones(["Name", "Type", "Added", "Last used", "Backup", ""])]} data-testid="passkey-list">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Type</TableCell>
              <TableCell>Added</TableCell>
              <TableCell>Last used</TableCell>
              <TableCell>Backup</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {passkeys.map((p) => (
              <TableRow key={p.id} data-testid="passkey-row">
                <TableCell>
                  {renaming?.id === p.id ? (
                    <Stack component="form" direction="row" spacing={1} onSubmit={rename} {...ignoreCapture} aria-label={`Rename ${p.name}`}>
                      <TextField
                        size="small"
                        label="New name"
                        value={renaming.name}
                        onChange={(e) => setRenaming({ id: p.id, name: e.target.value })}
                        onKeyDown={cancelOnEscape}
                        autoFocus
                        required
                        slotProps={{ htmlInput: { maxLength: 64, "data-testid": "passkey-rename-name" } }}
                      />
                      <Button type="submit" size="small" disabled={action.busy || !renaming.name.trim()} data-testid="passkey-rename-save">
                        Save
                      </Button>
                      <Button size="small" onClick={stopRenaming} disabled={action.busy}>
                        Cancel
                      </Button>
                    </Stack>
                  ) : (
                    p.name
                  )}
                </TableCell>
                <TableCell>{KIND[p.authenticator_type] ?? p.authenticator_type}</TableCell>
                <TableCell>{formatTime(p.created_at)}</TableCell>
                <TableCell>{p.last_used_at ? formatTime(p.last_used_at) : "never"}</TableCell>
                <TableCell>{p.device_type === "multi_device" ? (p.backed_up ? "synced" : "not yet backed up") : "this device only"}</TableCell>
                <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
                  {renaming?.id !== p.id && (
                    <Button
                      size="small"
                      onClick={() => setRenaming({ id: p.id, name: p.name })}
                      ref={(button: HTMLButtonElement | null) => {
                        if (button) renameButtons.current.set(p.id, button);
                        else renameButtons.current.delete(p.id);
                      }}
                      disabled={action.busy}
                      aria-label={`Rename ${p.name}`}
                      data-testid="passkey-rename"
                    >
                      Rename
                    </Button>
                  )}
                  <Button size="small" color="error" onClick={() => setRemoving(p)} disabled={action.busy} data-testid="passkey-remove">
                    Remove
                  </Button>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {supported ? (
        <Stack component="form" direction="row" spacing={1} onSubmit={add} {...ignoreCapture} sx={{ maxWidth: 520 }}>
          <TextField
            size="small"
            label="Name"
            placeholder="e.g. Work laptop"
            value={name}
            onChange={(e) => setName(e.target.value)}
            slotProps={{ htmlInput: { maxLength: 64, "data-testid": "passkey-name" } }}
          />
          <Button type="submit" variant="contained" disabled={action.busy} data-testid="passkey-add">
            Add a passkey
          </Button>
        </Stack>
      ) : (
        <Typography color="text.secondary">This browser cannot use passkeys here (they need HTTPS or localhost).</Typography>
      )}
      <ConfirmDialog
        open={removing !== null}
        title="Remove this passkey?"
        message={`"${removing?.name ?? ""}" will no longer sign you in. We will email you a link that puts it back.`}
        confirmLabel="Remove"
        onConfirm={() => void remove()}
        onCancel={() => setRemoving(null)}
      />
    </Paper>
  );
}
