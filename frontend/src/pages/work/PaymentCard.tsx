import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { api, ApiError, STEP_UP_CANCELLED } from "../../api/client";
import { errorMessage } from "../../api/messages";
import type { PaymentReceipt } from "../../api/types";
import { formatCents, MAX_AMOUNT_CENTS, parseAmountCents } from "../../format";

export const PAYMENT_STEP_UP_REASON =
  "Approving a payment needs you at the controls right now. bbauth has not seen enough of your typing or " +
  "pointer use recently to be sure, so enter a fresh one-time code. The payment goes ahead as soon as it is right.";

/**
 * The work page's sensitive action: approve a payment. The server lets it through on fresh,
 * high behavioural trust; otherwise it asks for a code (the step-up dialog) and the payment
 * goes ahead once that is entered.
 */
export function PaymentCard() {
  const [payee, setPayee] = useState("");
  const [amount, setAmount] = useState("");
  const [amountError, setAmountError] = useState<string | null>(null);
  const [payeeError, setPayeeError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [receipt, setReceipt] = useState<PaymentReceipt | null>(null);
  const [busy, setBusy] = useState(false);
  const typed = parseAmountCents(amount);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    const cents = parseAmountCents(amount);
    const name = payee.trim();
    setPayeeError(name ? null : "Who is paid?");
    setAmountError(
      cents === null
        ? "An amount such as 1250.75"
        : cents <= 0
          ? "More than zero"
          : cents > MAX_AMOUNT_CENTS
            ? `At most ${formatCents(MAX_AMOUNT_CENTS)}`
            : null,
    );
    if (!name || cents === null || cents <= 0 || cents > MAX_AMOUNT_CENTS) return;
    setBusy(true);
    setError(null);
    setReceipt(null);
    try {
      const approved = await api.post<PaymentReceipt>(
        "/api/demo/payments",
        { payee: name, amount_cents: cents },
        { stepUpReason: PAYMENT_STEP_UP_REASON },
      );
      setReceipt(approved);
      setPayee("");
      setAmount("");
    } catch (err) {
      if (err instanceof ApiError && (err.fieldError("payee") || err.fieldError("amount_cents"))) {
        setPayeeError(err.fieldError("payee"));
        setAmountError(err.fieldError("amount_cents"));
      } else if (err instanceof ApiError && err.code === STEP_UP_CANCELLED) {
        setError("Not approved: the payment needs a one-time code first.");
      } else {
        setError(errorMessage(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper sx={{ p: 2 }}>
      <Typography variant="h6" component="h2" gutterBottom>
        Approve a payment
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1.5 }}>
        A sensitive action: it goes through at once while your recent typing and pointer use vouch for you, and
        asks for a one-time code otherwise.
      </Typography>
      <Stack component="form" direction={{ xs: "column", sm: "row" }} spacing={1.5} alignItems="flex-start" onSubmit={submit} noValidate>
        <TextField
          label="Payee"
          size="small"
          value={payee}
          onChange={(e) => setPayee(e.target.value)}
          error={Boolean(payeeError)}
          helperText={payeeError ?? " "}
          disabled={busy}
          slotProps={{ htmlInput: { "data-testid": "payment-payee", maxLength: 120 } }}
          sx={{ flex: 2 }}
        />
        <TextField
          label="Amount"
          size="small"
          placeholder="12.50"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          error={Boolean(amountError)}
          helperText={amountError ?? (typed !== null && typed > 0 ? `= ${formatCents(typed)}` : " ")}
          disabled={busy}
          slotProps={{ htmlInput: { "data-testid": "payment-amount", inputMode: "decimal" } }}
          sx={{ flex: 1 }}
        />
        <Button type="submit" variant="contained" disabled={busy} data-testid="payment-submit" sx={{ whiteSpace: "nowrap", mt: 0.25 }}>
          Approve payment
        </Button>
      </Stack>
      {error && (
        <Alert severity="error" data-testid="payment-error">
          {error}
        </Alert>
      )}
      {receipt && (
        <Alert severity="success" data-testid="payment-receipt" data-reference={receipt.reference}>
          Approved: {formatCents(receipt.amount_cents)} to {receipt.payee} · reference <b>{receipt.reference}</b> ·{" "}
          {new Date(receipt.approved_at).toLocaleTimeString()}
        </Alert>
      )}
    </Paper>
  );
}
