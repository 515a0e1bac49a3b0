import Alert from "@mui/material/Alert";

/** Why the sign-in step failed, above its fields (nothing when it did not). */
export function LoginError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <Alert severity="error" data-testid="login-error">
      {message}
    </Alert>
  );
}
