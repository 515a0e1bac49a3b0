import Stack from "@mui/material/Stack";
import { useEffect } from "react";
import { AccountStatus } from "./account/AccountStatus";
import { AuthenticatorCard } from "./account/AuthenticatorCard";
import { BehaviorCard } from "./account/BehaviorCard";
import { EmailCard } from "./account/EmailCard";
import { NoticesCard } from "./account/NoticesCard";
import { PasskeysCard } from "./account/PasskeysCard";
import { PasswordCard } from "./account/PasswordCard";
import { PrivacyCard } from "./account/PrivacyCard";
import { SessionsCard } from "./account/SessionsCard";

/**
 * How the account is protected: second factor, password, address, behavioural model, sessions
 * and the notices about changes. Each change asks for a fresh code first (see StepUpDialog).
 */
export function AccountPage() {
  useEffect(() => {
    document.title = "Account · bbauth";
  }, []);
  return (
    <Stack spacing={2} sx={{ maxWidth: 900 }}>
      <AccountStatus />
      <PasskeysCard />
      <AuthenticatorCard />
      <PasswordCard />
      <EmailCard />
      <SessionsCard />
      <NoticesCard />
      <BehaviorCard />
      <PrivacyCard />
    </Stack>
  );
}
