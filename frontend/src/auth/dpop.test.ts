import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { accessTokenHash, ORIGIN, testDpopKey, verifiedProof } from "../test/dpop";
import { DpopKey, DpopUnavailable, indexedDbKeyStore, KEY_SLOT, memoryKeyStore } from "./dpop";

describe("DPoP proofs", () => {
  it("are ES256 JWS of type dpop+jwt carrying their public key, over method, URL, time and a unique id", async () => {
    const now = Date.parse("2031-03-04T09:00:00Z");
    const key = testDpopKey({ now: () => now });
    const proof = await key.bind("post", "/api/auth/otp/verify");

    const { header, claims } = await verifiedProof(proof, new Date(now));
    expect(header).toMatchObject({ alg: "ES256", typ: "dpop+jwt", jwk: { kty: "EC", crv: "P-256" } });
    expect(Object.keys(header.jwk!).sort()).toEqual(["crv", "kty", "x", "y"]); // never the private part
    expect(claims).toEqual({
      htm: "POST",
      htu: `${ORIGIN}/api/auth/otp/verify`,
      iat: now / 1000,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{8,128}$/),
    });
  });

  it("get a new jti each, from the same key", async () => {
    const key = testDpopKey();
    await key.bind("POST", "/api/auth/otp/verify");
    const proofs = await Promise.all([1, 2, 3].map(() => key.proof("GET", "/api/auth/me", "tok")));
    const checked = await Promise.all(proofs.map((p) => verifiedProof(p!)));
    expect(new Set(checked.map((c) => c.claims.jti)).size).toBe(3);
    expect(new Set(checked.map((c) => c.thumbprint))).toEqual(new Set([await key.thumbprint()]));
  });

  it("carry ath, the token's SHA-256, when they go with a token", async () => {
    const key = testDpopKey();
    const bound = await verifiedProof(await key.bind("POST", "/api/auth/otp/verify"));
    expect(bound.claims.ath).toBeUndefined();
    const used = await verifiedProof((await key.proof("GET", "/api/auth/me", "the-session-token"))!);
    expect(used.claims.ath).toBe(accessTokenHash("the-session-token"));
  });

  it("name the URL without its query or fragment", async () => {
    const key = testDpopKey();
    await key.bind("POST", "/x");
    const { claims } = await verifiedProof((await key.proof("GET", "/api/sessions?limit=5#top", "t"))!);
    expect(claims.htu).toBe(`${ORIGIN}/api/sessions`);
    const absolute = await verifiedProof((await key.proof("GET", "http://other.example:8080/socket.io/?EIO=4", "t"))!);
    expect(absolute.claims.htu).toBe("http://other.example:8080/socket.io/");
  });

  it("are not made without a key: none before sign-in, none after forgetting it", async () => {
    const key = testDpopKey();
    expect(await key.proof("GET", "/api/auth/me", "t")).toBeNull();
    await key.bind("POST", "/api/auth/otp/verify");
    expect(await key.proof("GET", "/api/auth/me", "t")).not.toBeNull();
    await key.forget();
    expect(await key.proof("GET", "/api/auth/me", "t")).toBeNull();
    expect(await key.thumbprint()).toBeNull();
  });

  it("come from a new key at each sign-in", async () => {
    const key = testDpopKey();
    const first = await verifiedProof(await key.bind("POST", "/api/auth/otp/verify"));
    const second = await verifiedProof(await key.bind("POST", "/api/auth/otp/verify"));
    expect(second.thumbprint).not.toBe(first.thumbprint);
    expect(await key.thumbprint()).toBe(second.thumbprint);
  });

  it("use a key whose private half cannot be exported", async () => {
    const store = memoryKeyStore();
    await testDpopKey({ store }).bind("POST", "/api/auth/otp/verify");
    expect(store.pair?.privateKey.extractable).toBe(false);
    expect(store.pair?.privateKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    await expect(crypto.subtle.exportKey("jwk", store.pair!.privateKey)).rejects.toThrow();
  });

  it("are timed by the server's clock when the local one is off", async () => {
    const server = Date.parse("2031-03-04T09:00:00Z");
    const key = testDpopKey({ now: () => server - 3 * 60_000 }); // this computer is 3 minutes slow
    key.observeServerDate(new Date(server).toUTCString());
    const { claims } = await verifiedProof(await key.bind("POST", "/x"), new Date(server));
    expect(claims.iat).toBe(server / 1000);
    // A second or two is the Date header's resolution, not a wrong clock.
    key.observeServerDate(new Date(server - 3 * 60_000 + 1500).toUTCString());
    expect((await verifiedProof(await key.bind("POST", "/x"), new Date(server))).claims.iat).toBe(server / 1000 - 180);
  });

  it("say plainly when this browser has no WebCrypto (a page not on https)", async () => {
    const key = testDpopKey({ generate: () => Promise.reject(new TypeError("crypto.subtle is undefined")) });
    await expect(key.bind("POST", "/x")).rejects.toBeInstanceOf(DpopUnavailable);
  });
});

describe("the tab's key in IndexedDB", () => {
  const stores = () => {
    const idb = new IDBFactory();
    return (slots: Storage = sessionStorage) => indexedDbKeyStore({ idb: () => idb, slots: () => slots });
  };

  it("outlives a reload of the tab: a new page signs with the same key", async () => {
    const store = stores();
    const before = new DpopKey({ store: store() });
    await before.bind("POST", "/api/auth/otp/verify");
    const reloaded = new DpopKey({ store: store() });
    expect(await reloaded.thumbprint()).toBe(await before.thumbprint());
    expect(sessionStorage.getItem(KEY_SLOT)).toBeTruthy();
  });

  it("is the tab's own: another tab (its own sessionStorage) has none", async () => {
    const store = stores();
    await new DpopKey({ store: store() }).bind("POST", "/api/auth/otp/verify");
    const otherTab = new DpopKey({ store: store(window.localStorage) });
    expect(await otherTab.thumbprint()).toBeNull();
  });

  it("is deleted when forgotten, and replaced at the next sign-in", async () => {
    const store = stores();
    const key = new DpopKey({ store: store() });
    await key.bind("POST", "/api/auth/otp/verify");
    const first = await key.thumbprint();
    await key.bind("POST", "/api/auth/otp/verify");
    expect(await new DpopKey({ store: store() }).thumbprint()).not.toBe(first);

    await key.forget();
    expect(sessionStorage.getItem(KEY_SLOT)).toBeNull();
    expect(await new DpopKey({ store: store() }).thumbprint()).toBeNull();
  });

  it("sweeps the keys of tabs closed long ago at the next sign-in", async () => {
    const idb = new IDBFactory();
    let now = Date.parse("2031-03-01T09:00:00Z");
    const store = (slots: Storage) => indexedDbKeyStore({ idb: () => idb, slots: () => slots, now: () => now });
    const closedTab = new Map<string, string>();
    const slots = {
      getItem: (k: string) => closedTab.get(k) ?? null,
      setItem: (k: string, v: string) => void closedTab.set(k, v),
      removeItem: (k: string) => void closedTab.delete(k),
    } as Storage;
    await new DpopKey({ store: store(slots) }).bind("POST", "/x");
    expect(await new DpopKey({ store: store(slots) }).thumbprint()).not.toBeNull();

    now += 8 * 24 * 3600_000;
    await new DpopKey({ store: store(sessionStorage) }).bind("POST", "/x");
    expect(await new DpopKey({ store: store(slots) }).thumbprint()).toBeNull();
  });
});
