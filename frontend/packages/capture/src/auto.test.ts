import { describe, expect, it, vi } from "vitest";
import { AUTO_ATTR, autoStart, CHANNEL_PATH, channelCredentials } from "./auto";
import { openSocket } from "./socket";
import { mockSocketFactory } from "../test/mockSocket";

function answering(...tokens: string[]) {
  const calls: RequestInit[] = [];
  const send = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    expect(url).toBe(CHANNEL_PATH);
    calls.push(init ?? {});
    const token = tokens.shift();
    if (!token) return new Response(JSON.stringify({ code: "sign_in_required" }), { status: 401 });
    return new Response(JSON.stringify({ token, session_id: "s", expires_in: 300 }), { status: 200 });
  });
  return { send: send as unknown as typeof fetch, calls };
}

describe("The injected script's auto-start", () => {
  it("asks for a channel credential with a same-origin POST carrying only the cookie", async () => {
    const { send, calls } = answering("bbc1.first");
    const credential = channelCredentials(send, () => 0);

    expect(await credential()).toBe("bbc1.first");
    expect(calls[0]).toMatchObject({ method: "POST", credentials: "same-origin" });
    expect(calls[0].headers).not.toHaveProperty("Authorization");
  });

  it("keeps a credential until a minute before it expires, then asks again", async () => {
    let now = 0;
    const { send } = answering("bbc1.first", "bbc1.second");
    const credential = channelCredentials(send, () => now);

    await credential();
    now = 239_000;
    expect(await credential()).toBe("bbc1.first");
    now = 240_000;
    expect(await credential()).toBe("bbc1.second");
  });

  it("sends each socket handshake a current credential", async () => {
    const { send } = answering("bbc1.first");
    const { factory, sockets } = mockSocketFactory();
    openSocket("/", channelCredentials(send, () => 0), factory);
    const auth = sockets[0].options.auth as (reply: (data: unknown) => void) => void;

    const first = await new Promise((reply) => auth(reply));
    expect(first).toEqual({ token: "bbc1.first" });
  });

  it("starts only for a script marked data-bbauth-auto", () => {
    const plain = document.createElement("script");
    expect(autoStart(plain)).toBeNull();
    expect(autoStart(null)).toBeNull();

    const marked = document.createElement("script");
    marked.setAttribute(AUTO_ATTR, "");
    const { send } = answering();
    vi.stubGlobal("fetch", send);
    const capture = autoStart(marked);
    expect(capture).not.toBeNull();
    capture?.stop();
    vi.unstubAllGlobals();
  });
});
