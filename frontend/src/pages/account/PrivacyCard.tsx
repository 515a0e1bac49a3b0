import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useState } from "react";
import { api } from "../../api/client";
import type { BehaviorErased, BehaviorExport } from "../../api/types";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useConsent } from "../../privacy/ConsentContext";
import { ActionAlerts } from "./ActionAlerts";
import { useAction } from "./useAction";

type Confirming = "withdraw" | "erase" | null;

/** Hand `data` to the browser as a JSON file download named `name`. */
export function downloadJson(data: unknown, name: string): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/** Consent to behavioural capture, and the person's behavioural data: download or delete it. */
export function PrivacyCard() {
  const consent = useConsent();
  const action = useAction();
  const [confirming, setConfirming] = useState<Confirming>(null);
  const status = consent.status;

  const withdraw = () => {
    setConfirming(null);
    return action.run(async () => {
      await consent.withdraw();
      return "Consent withdrawn: nothing is captured any more, and actions that need fresh trust ask for a code.";
    });
  };
  const give = () =>
    action.run(async () => {
      await consent.give();
      return "Thank you: behavioural checking is on.";
    });
  const exportData = () =>
    action.run(async () => {
      const data = await api.get<BehaviorExport>("/api/privacy/behavior", {
        stepUpReason: "Your behavioural data describes how you type and point: only you may download it.",
      });
      downloadJson(data, `bbauth-behavior-${data.exported_at.slice(0, 10)}.json`);
      return `Downloaded: ${data.samples.length} samples, ${data.models.length} model versions.`;
    });
  const erase = () => {
    setConfirming(null);
    return action.run(async () => {
      const erased = await api.delete<BehaviorErased>("/api/privacy/behavior", {
        stepUpReason: "Deleting your behavioural data removes what protects your sessions until it is learned again.",
      });
      return `Deleted ${erased.samples} samples, ${erased.fingerprints} fingerprints and ${erased.model_files} model files. bbauth learns your behaviour again from scratch${consent.consented ? "" : " once you consent"}.`;
    });
  };

  return (
    <Paper sx={{ p: 3 }} data-testid="privacy-card">
      <Typography variant="h6" component="h2" gutterBottom>
        Privacy and behavioural data
      </Typography>
      <ActionAlerts action={action} testId="privacy" />
      <Typography sx={{ mb: 2 }} data-testid="consent-state">
        {status === null
          ? "Loading…"
          : status.consented
            ? `Behavioural checking is on: you consented on ${new Date(status.given_at ?? "").toLocaleString()}.`
            : "Behavioural checking is off: nothing is captured, and actions that need fresh trust ask for a code."}
      </Typography>
      <Stack direction={{ xs: "column", sm: "row" }} spacing={1} sx={{ mb: 2, flexWrap: "wrap" }}>
        {status?.consented ? (
          <Button variant="outlined" onClick={() => setConfirming("withdraw")} disabled={action.busy} data-testid="consent-withdraw">
            Withdraw consent
          </Button>
        ) : (
          <Button variant="contained" onClick={() => void give()} disabled={action.busy || status === null} data-testid="consent-give">
            Turn behavioural checking on
          </Button>
        )}
        <Button variant="outlined" onClick={() => void exportData()} disabled={action.busy} data-testid="behavior-export">
          Download my behavioural data
        </Button>
        <Button variant="outlined" color="error" onClick={() => setConfirming("erase")} disabled={action.busy} data-testid="behavior-erase">
          Delete my behavioural data
        </Button>
      </Stack>
      <Link href="/privacy" data-testid="account-privacy-link">
        What bbauth collects
      </Link>
      <ConfirmDialog
        open={confirming === "withdraw"}
        title="Withdraw consent?"
        message="Capture stops on every session of your account, and actions that need fresh trust will ask for a one-time code. Your stored data stays until you delete it."
        confirmLabel="Withdraw"
        onConfirm={() => void withdraw()}
        onCancel={() => setConfirming(null)}
      />
      <ConfirmDialog
        open={confirming === "erase"}
        title="Delete your behavioural data?"
        message="Your samples, models and fingerprints are deleted for good. Until bbauth has learned your behaviour again, it cannot tell you from someone else at your keyboard."
        confirmLabel="Delete"
        danger
        onConfirm={() => void erase()}
        onCancel={() => setConfirming(null)}
      />
    </Paper>
  );
}
