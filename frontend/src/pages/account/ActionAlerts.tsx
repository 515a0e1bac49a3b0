import Alert from "@mui/material/Alert";
import type { Action } from "./useAction";

/** The outcome of a card's last action. */
export function ActionAlerts({ action, testId }: { action: Action; testId?: string }) {
  return (
    <>
      {action.error && (
        <Alert severity="error" sx={{ mb: 2 }} data-testid={testId ? `${testId}-error` : undefined}>
          {action.error}
        </Alert>
      )}
      {action.done && (
        <Alert severity="success" sx={{ mb: 2 }} data-testid={testId ? `${testId}-done` : undefined}>
          {action.done}
        </Alert>
      )}
    </>
  );
}
