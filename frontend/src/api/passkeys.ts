import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";
import { api, ApiError, type RequestOptions } from "./client";
import { errorMessage } from "./messages";
import type { Passkey, TokenResponse } from "./types";

/** Whether this browser can use passkeys at all (WebAuthn in a secure context). */
export function passkeysAvailable(): boolean {
  return typeof window !== "undefined" && typeof window.PublicKeyCredential === "function";
}

// The WebAuthn helpers are fetched when a passkey is first used, not with the login page.
const webauthn = () => import("@simplewebauthn/browser");

interface OptionsOut {
  options: Record<string, unknown>;
}

/** Make a passkey on this device and keep it under `name` (the account page; needs a step-up). */
export async function registerPasskey(name: string): Promise<Passkey> {
  const { options } = await api.post<OptionsOut>("/api/account/passkeys/options");
  const { startRegistration } = await webauthn();
  const credential = await startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON });
  return api.post<Passkey>("/api/account/passkeys", { name, credential });
}

/**
 * Answer a challenge with a passkey: ask `base/options`, let the authenticator sign, send the
 * answer to `base/verify` (with `body`'s other fields). The server's answer is returned.
 */
export async function answerWithPasskey<T>(
  base: string,
  body: Record<string, unknown> = {},
  options: Pick<RequestOptions, "auth" | "bindKey"> = {},
): Promise<T> {
  const { auth } = options;
  const asked = await api.post<OptionsOut>(`${base}/options`, Object.keys(body).length ? body : undefined, { auth });
  const { startAuthentication } = await webauthn();
  const credential = await startAuthentication({ optionsJSON: asked.options as unknown as PublicKeyCredentialRequestOptionsJSON });
  return api.post<T>(`${base}/verify`, { ...body, credential }, options);
}

/** Sign in with a discoverable passkey alone (no password); the token is bound to this tab's key. */
export function signInWithPasskey(): Promise<TokenResponse> {
  return answerWithPasskey<TokenResponse>("/api/auth/passkey/sign-in", {}, { auth: false, bindKey: true });
}

/** Why a passkey sign-in did not happen, in words (the browser's refusal or the server's). */
export function passkeySignInError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 404) return "Signing in with a passkey alone is not available here. Use your password.";
    if (err.code === "passkey_refused") return "That passkey was not accepted. Try another one, or use your password.";
    if (err.code === "challenge_closed") return "That passkey request expired. Try again.";
    return errorMessage(err);
  }
  if (err instanceof Error && err.name === "NotAllowedError") {
    return "No passkey was used (it was cancelled or timed out). Try again, or use your password.";
  }
  return "This browser could not use a passkey. Use your password.";
}
