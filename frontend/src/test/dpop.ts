import { createHash } from "node:crypto";
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from "jose";
import { DpopKey, memoryKeyStore } from "../auth/dpop";

export const ORIGIN = "https://bbauth.example";

/** A DPoP key kept in memory, for a page at ORIGIN (or the test's own clock and store). */
export function testDpopKey(options: ConstructorParameters<typeof DpopKey>[0] = {}) {
  return new DpopKey({ store: memoryKeyStore(), origin: () => ORIGIN, ...options });
}

/**
 * A proof checked as the server checks it: its signature verifies with the public key in its
 * own header (imported with jose), and it is an ES256 JWS of type dpop+jwt.
 */
export async function verifiedProof(proof: string, at: Date = new Date()) {
  const jwk = decodeProtectedHeader(proof).jwk as JWK;
  const key = await importJWK(jwk, "ES256");
  const { payload, protectedHeader } = await jwtVerify(proof, key, {
    typ: "dpop+jwt",
    algorithms: ["ES256"],
    currentDate: at,
  });
  return { header: protectedHeader, claims: payload, thumbprint: await calculateJwkThumbprint(jwk) };
}

/** `ath` as RFC 9449 defines it, computed apart from the app's code: base64url(SHA-256(token)). */
export function accessTokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
