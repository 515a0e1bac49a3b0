import type { DpopProof } from "@bbauth/capture";
import type { JWK } from "jose";

/**
 * DPoP (RFC 9449): the session token is bound to a key this tab holds, and every use of the
 * token carries a fresh proof signed with it, so a token copied from a log, a proxy or this
 * page's storage is useless anywhere else.
 *
 * The key is a P-256 pair made by WebCrypto with a non-extractable private half: the page can
 * sign with it but no script can read it out. It is kept in IndexedDB (a CryptoKey survives
 * there as an opaque handle) under an id kept in sessionStorage, so it lives exactly as long
 * as the tab's session: a reload keeps it, another tab has its own, signing out forgets it.
 * Proofs are signed by `jose` (fetched with the first proof, not with the login page); nothing
 * here writes JWS by hand.
 */

const ALG = "ES256";
const PROOF_TYPE = "dpop+jwt";
/** Below this, a difference to the server's clock is the Date header's 1-s resolution plus latency. */
const CLOCK_OFFSET_MIN_MS = 5_000;

/** Where a tab keeps its key pair between reloads. */
export interface DpopKeyStore {
  load(): Promise<CryptoKeyPair | null>;
  /** Keep `pair` as the tab's key, in place of any earlier one. */
  save(pair: CryptoKeyPair): Promise<void>;
  remove(): Promise<void>;
}

/** What the API client and the sockets need: proofs of possession of the session's key. */
export interface DpopProofs {
  /**
   * A proof for one request to `url` (a path on this origin, or absolute) signed with the tab's
   * key, with `ath` for `token`; null when the tab holds no key.
   */
  proof(method: string, url: string, token?: string | null): Promise<string | null>;
  /** A new key for the tab (the old one is forgotten) and a proof of it, for the request whose
   * answer is a token bound to it (sign-in, sign-up). */
  bind(method: string, url: string): Promise<string>;
  /** Read the server's clock off a response's Date header: a proof's `iat` is in its time. */
  observeServerDate(date: string | null): void;
}

/** The capture SDK's shape of `proof`: a function of the key's holder. */
export function proofOf(key: DpopProofs): DpopProof {
  return (method, url, token) => key.proof(method, url, token);
}

/** This browser cannot make or keep the key (no WebCrypto: the page is not on https). */
export class DpopUnavailable extends Error {
  constructor(cause?: unknown) {
    super("This browser cannot keep a key for the session: it needs a secure (https) connection.", { cause });
    this.name = "DpopUnavailable";
  }
}

export interface DpopKeyOptions {
  store?: DpopKeyStore;
  /** The local clock, ms since the epoch. */
  now?: () => number;
  /** The page's origin, for `htu` of paths. */
  origin?: () => string;
  /** Makes the key pair (a non-extractable P-256 pair by default). */
  generate?: () => Promise<CryptoKeyPair>;
}

interface HeldKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

/** The tab's DPoP key: makes it, keeps it, signs proofs with it. */
export class DpopKey implements DpopProofs {
  private readonly store: DpopKeyStore;
  private readonly now: () => number;
  private readonly origin: () => string;
  private readonly generate: () => Promise<CryptoKeyPair>;
  private held: Promise<HeldKey | null> | null = null;
  private offsetMs = 0;

  constructor(options: DpopKeyOptions = {}) {
    this.store = options.store ?? browserKeyStore();
    this.now = options.now ?? Date.now;
    this.origin = options.origin ?? (() => window.location.origin);
    this.generate = options.generate ?? generateKeyPair;
  }

  async bind(method: string, url: string): Promise<string> {
    let pair: CryptoKeyPair;
    try {
      pair = await this.generate();
    } catch (err) {
      throw new DpopUnavailable(err);
    }
    const key = held(pair);
    this.held = key;
    try {
      await this.store.save(pair);
    } catch {
      // Not kept (IndexedDB refused it): it still signs until the page is left.
    }
    return this.sign(await key, method, url, null);
  }

  async proof(method: string, url: string, token: string | null = null): Promise<string | null> {
    const key = await this.current();
    return key ? this.sign(key, method, url, token) : null;
  }

  observeServerDate(date: string | null): void {
    const server = date ? Date.parse(date) : NaN;
    if (Number.isNaN(server)) return;
    const offset = server - this.now();
    this.offsetMs = Math.abs(offset) >= CLOCK_OFFSET_MIN_MS ? offset : 0;
  }

  /** Forget the key (signing out, or the session ended): no proof can be made with it again. */
  async forget(): Promise<void> {
    this.held = Promise.resolve(null);
    await this.store.remove().catch(() => undefined);
  }

  /** The RFC 7638 thumbprint of the public key (what the server binds the token to), or null. */
  async thumbprint(): Promise<string | null> {
    const key = await this.current();
    if (!key) return null;
    const { calculateJwkThumbprint } = await jose();
    return calculateJwkThumbprint(key.jwk);
  }

  private current(): Promise<HeldKey | null> {
    this.held ??= this.store.load().then(
      (pair) => (pair ? held(pair) : null),
      () => null,
    );
    return this.held;
  }

  private async sign(key: HeldKey, method: string, url: string, token: string | null): Promise<string> {
    const claims: Record<string, string> = { htm: method.toUpperCase(), htu: this.target(url) };
    if (token) claims.ath = await tokenHash(token);
    const { base64url, SignJWT } = await jose();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, typ: PROOF_TYPE, jwk: key.jwk })
      .setIssuedAt(Math.floor((this.now() + this.offsetMs) / 1000))
      .setJti(base64url.encode(crypto.getRandomValues(new Uint8Array(16))))
      .sign(key.privateKey);
  }

  /** `htu`: the URL without its query and fragment (RFC 9449 §4.2). */
  private target(url: string): string {
    const parsed = new URL(url, this.origin());
    return `${parsed.origin}${parsed.pathname}`;
  }
}

const jose = () => import("jose");

async function held(pair: CryptoKeyPair): Promise<HeldKey> {
  const { exportJWK } = await jose();
  const { kty, crv, x, y } = await exportJWK(pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty, crv, x, y } };
}

function generateKeyPair(): Promise<CryptoKeyPair> {
  if (!globalThis.crypto?.subtle) throw new DpopUnavailable();
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
}

/** `ath`: base64url (unpadded) of the SHA-256 of the access token. */
export async function tokenHash(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const { base64url } = await jose();
  return base64url.encode(new Uint8Array(digest));
}

// --- where the key is kept -------------------------------------------------------------------

const DB_NAME = "bbauth";
const DB_STORE = "dpop-keys";
/** The sessionStorage entry naming this tab's key. */
export const KEY_SLOT = "bbauth.dpop-key";
/** A key record older than this belongs to a tab closed without signing out: no session lives as long. */
const ABANDONED_AFTER_MS = 7 * 24 * 3600_000;

interface KeyRecord {
  id: string;
  pair: CryptoKeyPair;
  createdAt: number;
}

export interface IndexedDbKeyStoreOptions {
  idb?: () => IDBFactory;
  slots?: () => Storage;
  now?: () => number;
}

/** The tab's key in IndexedDB, named by an id in sessionStorage (so per tab, kept over reloads). */
export function indexedDbKeyStore(options: IndexedDbKeyStoreOptions = {}): DpopKeyStore {
  const idb = options.idb ?? (() => indexedDB);
  const slots = options.slots ?? (() => sessionStorage);
  const now = options.now ?? Date.now;
  let opened: Promise<IDBDatabase> | null = null;

  const database = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = idb().open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(DB_STORE, { keyPath: "id" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    opened.catch(() => {
      opened = null;
    });
    return opened;
  };

  const inStore = async <T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T> | void) => {
    const db = await database();
    return new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(DB_STORE, mode);
      const request = work(tx.objectStore(DB_STORE));
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };

  return {
    async load() {
      const id = slots().getItem(KEY_SLOT);
      if (!id) return null;
      const record = await inStore<KeyRecord>("readonly", (store) => store.get(id) as IDBRequest<KeyRecord>);
      return record?.pair ?? null;
    },
    async save(pair) {
      const previous = slots().getItem(KEY_SLOT);
      const record: KeyRecord = { id: crypto.randomUUID(), pair, createdAt: now() };
      const abandonedBefore = now() - ABANDONED_AFTER_MS;
      await inStore("readwrite", (store) => {
        if (previous) store.delete(previous);
        store.openCursor().onsuccess = (event) => {
          const cursor = (event.target as IDBRequest<IDBCursorWithValue | null>).result;
          if (!cursor) return;
          if ((cursor.value as KeyRecord).createdAt < abandonedBefore) cursor.delete();
          cursor.continue();
        };
        store.put(record);
      });
      slots().setItem(KEY_SLOT, record.id);
    },
    async remove() {
      const id = slots().getItem(KEY_SLOT);
      slots().removeItem(KEY_SLOT);
      if (id) await inStore("readwrite", (store) => store.delete(id));
    },
  };
}

/** A key kept in memory only: gone with the page (where IndexedDB is missing, and in tests). */
export function memoryKeyStore(): DpopKeyStore & { pair: CryptoKeyPair | null } {
  return {
    pair: null,
    async load() {
      return this.pair;
    },
    async save(pair) {
      this.pair = pair;
    },
    async remove() {
      this.pair = null;
    },
  };
}

function browserKeyStore(): DpopKeyStore {
  return typeof indexedDB === "undefined" ? memoryKeyStore() : indexedDbKeyStore();
}
