import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import { useAuth } from "../../auth/AuthContext";

/** Why security changes may be refused right now: a freeze, or locked codes. */
export function AccountStatus() {
  const { user } = useAuth();
  if (!user?.frozen && !user?.codes_locked) return null;
  return (
    <>
      {user.frozen && (
        <Alert severity="warning" data-testid="account-frozen">
          <AlertTitle>Security changes are frozen</AlertTitle>
          Someone reported, with the link in a security notice, that a change to this account was not theirs. The change
          was undone and every session was signed out. Security settings stay frozen until your next sign-in with your own
          password and code.
        </Alert>
      )}
      {user.codes_locked && (
        <Alert severity="error" data-testid="account-codes-locked">
          <AlertTitle>One-time codes are locked</AlertTitle>
          Too many wrong codes were entered. Use the unlock link we emailed you, or ask an administrator.
        </Alert>
      )}
    </>
  );
}
