/**
 * Device tokens: one per account this browser completed a sign-in for. Sent with the next
 * password of that account, they let a known device keep its own budget of wrong passwords, so
 * someone guessing elsewhere cannot lock the owner out. They live in localStorage (they must
 * outlive the tab) and are worth nothing without the password.
 */
export const DEVICE_TOKENS_KEY = "bbauth.devices";

function key(email: string): string {
  return email.trim().toLowerCase();
}

function readAll(storage: Storage): Record<string, string> {
  try {
    const value: unknown = JSON.parse(storage.getItem(DEVICE_TOKENS_KEY) ?? "{}");
    return value && typeof value === "object" ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The device token this browser holds for the account of `email`, if any. */
export function deviceTokenFor(email: string, storage: Storage = localStorage): string | null {
  const token = readAll(storage)[key(email)];
  return typeof token === "string" && token ? token : null;
}

/** Keep the device token a sign-in of `email` handed out. */
export function rememberDeviceToken(email: string, token: string, storage: Storage = localStorage): void {
  try {
    storage.setItem(DEVICE_TOKENS_KEY, JSON.stringify({ ...readAll(storage), [key(email)]: token }));
  } catch {
    // Storage full or disabled: the browser is treated as new at its next sign-in, no more.
  }
}
