import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import Chip from "@mui/material/Chip";
import FormControlLabel from "@mui/material/FormControlLabel";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { errorMessage } from "../../api/messages";
import type { Integration, IssuedIntegration, RotatedWebhookSecret } from "../../api/types";
import { useLoaded } from "../../api/useLoaded";
import { CardTitle } from "../../components/CardTitle";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable, EmptyRow } from "../../components/DataTable";
import { formatTime } from "../../format";

const SCOPES = [
  { scope: "sessions:read", label: "Read sessions (risk API)" },
  { scope: "webhooks", label: "Session events (webhooks)" },
] as const;
type Scope = (typeof SCOPES)[number]["scope"];

/** Secrets the server shows once: the new key and its webhook secret, or a rotated secret. */
interface Shown {
  name: string;
  apiKey: string | null;
  webhookSecret: string | null;
}

type IntegrationAction = { kind: "revoke" | "rotate"; integration: Integration };

const COLUMNS = ["Integration", "Scopes", "Webhook", "Created · last used", { label: "Actions", align: "right" }] as const;

/** GET /api/admin/integrations. */
async function loadIntegrations(): Promise<Integration[]> {
  return (await api.get<{ integrations: Integration[] }>("/api/admin/integrations")).integrations;
}

/** One secret with a copy button. */
function SecretLine({ label, value, testId }: { label: string; value: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(value);
    setCopied(true);
  };
  return (
    <Stack direction="row" spacing={1} alignItems="center">
      <Typography variant="body2" sx={{ minWidth: 110 }}>
        {label}
      </Typography>
      <Typography variant="body2" component="code" sx={{ fontFamily: "monospace", wordBreak: "break-all", flexGrow: 1 }} data-testid={testId}>
        {value}
      </Typography>
      <Button size="small" onClick={() => void copy()} data-testid={`${testId}-copy`}>
        {copied ? "Copied" : "Copy"}
      </Button>
    </Stack>
  );
}

/** Other applications: their API keys (created, listed, revoked) and webhook secrets. */
export function IntegrationsCard() {
  const integrations = useLoaded(loadIntegrations);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["sessions:read"]);
  const [webhookUrl, setWebhookUrl] = useState("");
  const [shown, setShown] = useState<Shown | null>(null);
  const [action, setAction] = useState<IntegrationAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  // Why the last change failed, or else why the list could not be loaded.
  const problem = failure ?? integrations.error;

  const hooks = scopes.includes("webhooks");
  const toggle = (scope: Scope) => setScopes((now) => (now.includes(scope) ? now.filter((s) => s !== scope) : [...now, scope]));

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      const body = { name: name.trim(), scopes, ...(hooks && webhookUrl.trim() ? { webhook_url: webhookUrl.trim() } : {}) };
      const issued = await api.post<IssuedIntegration>("/api/admin/integrations", body);
      setShown({ name: issued.integration.name, apiKey: issued.api_key, webhookSecret: issued.webhook_secret ?? null });
      setName("");
      setWebhookUrl("");
    } catch (err) {
      setFailure(errorMessage(err));
    } finally {
      setBusy(false);
      void integrations.reload();
    }
  };

  const run = async () => {
    if (!action) return;
    const { kind, integration } = action;
    setBusy(true);
    setFailure(null);
    try {
      if (kind === "revoke") {
        await api.post(`/api/admin/integrations/${integration.id}/revoke`);
      } else {
        const rotated = await api.post<RotatedWebhookSecret>(`/api/admin/integrations/${integration.id}/webhook-secret`);
        setShown({ name: integration.name, apiKey: null, webhookSecret: rotated.webhook_secret });
      }
    } catch (err) {
      setFailure(errorMessage(err));
    } finally {
      setBusy(false);
      setAction(null);
      void integrations.reload();
    }
  };

  return (
    <Paper sx={{ p: 2 }}>
      <CardTitle title="Integrations" onRefresh={integrations.reload} />
      {problem && (
        <Alert
          severity="error"
          sx={{ mb: 1 }}
          onClose={() => {
            setFailure(null);
            integrations.dismiss();
          }}
          data-testid="integrations-error"
        >
          {problem}
        </Alert>
      )}
      {shown && (
        <Alert severity="warning" sx={{ mb: 1 }} onClose={() => setShown(null)} data-testid="integration-secret">
          <Typography variant="body2" sx={{ mb: 1 }}>
            Copy the secrets of {shown.name} now: bbauth keeps only a hash of the key and will not show either again.
          </Typography>
          {shown.apiKey && <SecretLine label="API key" value={shown.apiKey} testId="integration-api-key" />}
          {shown.webhookSecret && <SecretLine label="Webhook secret" value={shown.webhookSecret} testId="integration-webhook-secret" />}
        </Alert>
      )}
      <Box component="form" onSubmit={(e) => void create(e)} sx={{ mb: 2 }} data-testid="integration-form">
        <Stack direction={{ xs: "column", md: "row" }} spacing={1} alignItems={{ md: "center" }}>
          <TextField id="integration-name" label="Name" value={name} onChange={(e) => setName(e.target.value)} size="small" required slotProps={{ htmlInput: { maxLength: 120 } }} />
          {SCOPES.map(({ scope, label }) => (
            <FormControlLabel key={scope} control={<Checkbox checked={scopes.includes(scope)} onChange={() => toggle(scope)} />} label={label} />
          ))}
          <TextField
            id="integration-webhook"
            label="Webhook URL"
            value={webhookUrl}
            onChange={(e) => setWebhookUrl(e.target.value)}
            size="small"
            disabled={!hooks}
            required={hooks}
            type="url"
            sx={{ flexGrow: 1 }}
            slotProps={{ htmlInput: { maxLength: 2000 } }}
          />
          <Button type="submit" variant="contained" disabled={busy || !name.trim() || scopes.length === 0} data-testid="integration-create">
            Create key
          </Button>
        </Stack>
      </Box>
      <DataTable columns={COLUMNS} testId="integrations-table">
        {integrations.data?.length === 0 && (
          <EmptyRow colSpan={COLUMNS.length} variant="body2">
            No integration yet.
          </EmptyRow>
        )}
        {(integrations.data ?? []).map((i) => (
          <TableRow key={i.id} data-testid="integration-row" data-name={i.name}>
            <TableCell>
              <Typography variant="body2" component="div" sx={{ fontWeight: 600 }}>
                {i.name} {i.revoked_at && <Chip size="small" color="default" label="Revoked" data-testid="integration-revoked" />}
              </Typography>
              <Typography variant="caption" color="text.secondary" sx={{ fontFamily: "monospace" }}>
                {i.key_prefix}…
              </Typography>
            </TableCell>
            <TableCell>
              <Stack direction="row" spacing={0.5}>
                {i.scopes.map((s) => (
                  <Chip key={s} size="small" variant="outlined" label={s} />
                ))}
              </Stack>
            </TableCell>
            <TableCell>
              {i.webhook_url ? (
                <>
                  <Typography variant="body2" sx={{ wordBreak: "break-all" }}>
                    {i.webhook_url}
                  </Typography>
                  <Typography variant="caption" color="text.secondary" data-testid="integration-deliveries">
                    {i.delivered} delivered · {i.queued} queued · {i.dropped} dropped
                  </Typography>
                </>
              ) : (
                "—"
              )}
            </TableCell>
            <TableCell>
              <Typography variant="body2">{formatTime(i.created_at)}</Typography>
              <Typography variant="caption" color="text.secondary">
                {i.last_used_at ? `used ${formatTime(i.last_used_at)}` : "never used"}
              </Typography>
            </TableCell>
            <TableCell align="right" sx={{ whiteSpace: "nowrap" }}>
              {i.webhook_url && (
                <Button size="small" disabled={Boolean(i.revoked_at)} onClick={() => setAction({ kind: "rotate", integration: i })} data-testid="integration-rotate">
                  New webhook secret
                </Button>
              )}
              <Button size="small" color="error" disabled={Boolean(i.revoked_at)} onClick={() => setAction({ kind: "revoke", integration: i })} data-testid="integration-revoke">
                Revoke
              </Button>
            </TableCell>
          </TableRow>
        ))}
      </DataTable>
      <ConfirmDialog
        open={action !== null}
        title={action?.kind === "revoke" ? "Revoke this key?" : "Replace the webhook secret?"}
        message={
          action?.kind === "revoke"
            ? `${action.integration.name} can no longer read sessions, and its queued webhooks are dropped. This needs a fresh code of yours.`
            : `Messages to ${action?.integration.name ?? "this integration"} are signed with a new secret from now on: its receiver must use it. This needs a fresh code of yours.`
        }
        confirmLabel={action?.kind === "revoke" ? "Revoke" : "Replace"}
        danger={action?.kind === "revoke"}
        busy={busy}
        onConfirm={() => void run()}
        onCancel={() => setAction(null)}
      />
    </Paper>
  );
}
