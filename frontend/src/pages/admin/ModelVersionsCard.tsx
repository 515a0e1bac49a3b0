import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useCallback, useEffect, useState } from "react";
import { api } from "../../api/client";
import { errorMessage } from "../../api/messages";
import type { AdminUser, ModelVersion } from "../../api/types";
import { useLoaded } from "../../api/useLoaded";
import { CardTitle } from "../../components/CardTitle";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable, EmptyRow } from "../../components/DataTable";

const COLUMNS = ["Model", "Status", "Why", { label: "Action", align: "right" }] as const;
const STATUS_COLOR = { serving: "success", shadow: "info", kept: "default" } as const;

async function loadUsers(): Promise<AdminUser[]> {
  return (await api.get<{ users: AdminUser[] }>("/api/admin/users")).users;
}

/** A user's model versions (serving, in the shadow, kept and why) and one-click rollback. */
export function ModelVersionsCard() {
  const users = useLoaded(loadUsers);
  const [userId, setUserId] = useState("");
  const [versions, setVersions] = useState<ModelVersion[]>([]);
  const [target, setTarget] = useState<ModelVersion | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);

  const load = useCallback(async (id: string) => {
    if (!id) {
      setVersions([]);
      return;
    }
    try {
      setVersions((await api.get<{ versions: ModelVersion[] }>(`/api/admin/users/${id}/models`)).versions);
    } catch (err) {
      setOutcome({ ok: false, text: errorMessage(err) });
    }
  }, []);

  useEffect(() => {
    void load(userId);
  }, [userId, load]);

  const serve = async () => {
    if (!target) return;
    setBusy(true);
    try {
      const body = { version: target.version };
      const answer = await api.post<{ versions: ModelVersion[] }>(`/api/admin/users/${userId}/models/${target.modality}/rollback`, body);
      setVersions(answer.versions);
      setOutcome({ ok: true, text: `The ${target.modality} model v${target.version} serves now.` });
    } catch (err) {
      setOutcome({ ok: false, text: errorMessage(err) });
    } finally {
      setBusy(false);
      setTarget(null);
    }
  };

  return (
    <Paper sx={{ p: 2 }} data-testid="model-versions">
      <CardTitle title="Model versions" onRefresh={() => load(userId)} />
      {outcome && (
        <Alert severity={outcome.ok ? "success" : "error"} sx={{ mb: 1 }} onClose={() => setOutcome(null)} data-testid="model-outcome">
          {outcome.text}
        </Alert>
      )}
      <TextField select size="small" label="User" value={userId} onChange={(e) => setUserId(e.target.value)} sx={{ minWidth: 280, mb: 1 }}
        slotProps={{ htmlInput: { "data-testid": "model-user" } }}>
        {(users.data ?? []).map((u) => (
          <MenuItem key={u.id} value={u.id}>
            {u.email}
          </MenuItem>
        ))}
      </TextField>
      <DataTable columns={COLUMNS} testId="model-table">
        {versions.length === 0 && <EmptyRow colSpan={COLUMNS.length}>{userId ? "No trained model yet." : "Choose a user."}</EmptyRow>}
        {versions.map((v) => (
          <TableRow key={`${v.modality}-${v.version}`} data-testid="model-row" data-version={v.version} data-status={v.status}>
            <TableCell>
              {v.modality} v{v.version}
            </TableCell>
            <TableCell>
              <Chip size="small" color={STATUS_COLOR[v.status]} label={v.status} />
            </TableCell>
            <TableCell>
              <Typography variant="body2" color="text.secondary">
                {v.reason || "—"}
              </Typography>
            </TableCell>
            <TableCell align="right">
              <Button size="small" disabled={v.status === "serving"} onClick={() => setTarget(v)} data-testid="model-serve">
                Serve this version
              </Button>
            </TableCell>
          </TableRow>
        ))}
      </DataTable>
      <ConfirmDialog
        open={target !== null}
        title="Serve this model version?"
        message={`The ${target?.modality ?? ""} model v${target?.version ?? ""} scores this user from their next window, on every worker; a version in the shadow is dropped. This needs a fresh code of yours and is audited.`}
        confirmLabel="Serve"
        busy={busy}
        onConfirm={() => void serve()}
        onCancel={() => setTarget(null)}
      />
    </Paper>
  );
}
