import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";
import { api, type RequestOptions } from "./client";
import type { Passkey } from "./types";

/** Whether this browser can use passkeys at all (WebAuthn in a secure context). */
export function passkeysAvailable(): boolean {
  return browserSupportsWebAuthn();
}

interface OptionsOut {
  options: Record<string, unknown>;
}

/** Make a passkey on this device and keep it under `name` (the account page; needs a step-up). */
export async function registerPasskey(name: string): Promise<Passkey> {
  const { options } = await api.post<OptionsOut>("/api/account/passkeys/options");
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
  const credential = await startAuthentication({ optionsJSON: asked.options as unknown as PublicKeyCredentialRequestOptionsJSON });
  return api.post<T>(`${base}/verify`, { ...body, credential }, options);
}
