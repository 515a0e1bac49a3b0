import { useEffect, useState } from "react";
import { api } from "../../api/client";
import type { AuthOptions } from "../../api/types";

/** Password only: until the deployment's options are read, or if they cannot be. */
export const PASSWORD_ONLY: AuthOptions = { passkey_login: false };

/** How this deployment lets people sign in (`GET /api/auth/options`); null until answered. */
export function useAuthOptions(): AuthOptions | null {
  const [options, setOptions] = useState<AuthOptions | null>(null);
  useEffect(() => {
    let live = true;
    api.get<AuthOptions>("/api/auth/options", { auth: false }).then(
      (read) => live && setOptions(read),
      () => live && setOptions(PASSWORD_ONLY), // the password form works without them
    );
    return () => {
      live = false;
    };
  }, []);
  return options;
}
