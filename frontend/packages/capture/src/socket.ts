import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { SocketAuth } from "../../../src/contract/socket";
import { absoluteUrl, currentToken, type DpopProof, type TokenSource } from "./dpop";
import { SESSION_LOST_CODES, sessionLostMessage } from "./session";

/**
 * Reconnection with exponential backoff and jitter: 0.5 s, 1 s, 2 s … capped at 10 s, for ever
 * (a person's laptop may sleep for hours; the server refuses a dead token and we stop then).
 */
export const SOCKET_OPTIONS: Partial<ManagerOptions & SocketOptions> = {
  path: "/socket.io",
  // WebSocket only: HTTP long-polling needs sticky routing, which several workers behind one
  // port do not have (every proxy in front of bbauth must pass the WebSocket upgrade).
  transports: ["websocket"],
  reconnection: true,
  reconnectionAttempts: Infinity,
  reconnectionDelay: 500,
  reconnectionDelayMax: 10_000,
  randomizationFactor: 0.5,
  timeout: 10_000,
};

/** Opens a socket on a namespace: "/" or "/admin" on this origin, or that path on another one. */
export type SocketFactory = (namespace: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

export const defaultSocketFactory: SocketFactory = (url, options) => io(url, options);

/** The handshake's auth payload: the token, and a DPoP proof of its key when the tab holds one. */
export type { SocketAuth };

/**
 * Opens a socket on a namespace ("/" or "/admin") with the session token. Every connect and
 * reconnect asks `auth` afresh, so each handshake carries a new proof (`htm` GET, `htu` the
 * Socket.IO endpoint; browsers cannot set headers on a WebSocket). `origin` is bbauth's when it
 * is not the page's ("https://bbauth.example"), empty for the page's own.
 */
export function openSocket(
  namespace: string,
  source: TokenSource,
  factory: SocketFactory = defaultSocketFactory,
  dpop: DpopProof | null = null,
  origin = "",
): Socket {
  const withToken = (token: string, reply: (data: SocketAuth) => void) => {
    if (!dpop) return reply({ token });
    dpop("GET", absoluteUrl(origin, `${SOCKET_OPTIONS.path}/`), token).then(
      (proof) => reply(proof ? { token, dpop: proof } : { token }),
      // Without a proof the server refuses the connect, and says why.
      () => reply({ token }),
    );
  };
  const auth = (reply: (data: SocketAuth) => void) => {
    if (typeof source === "string") return withToken(source, reply);
    void currentToken(source).then((token) => withToken(token, reply));
  };
  return factory(`${origin}${namespace}`, { ...SOCKET_OPTIONS, auth });
}

/** Listeners by event name; each takes that event's payload. */
export type SocketHandlers = Readonly<Record<string, (...args: never[]) => void>>;

/** Registers each of `handlers` on `socket` (the same listener objects, so `off` still finds them). */
export function wire(socket: Socket, handlers: SocketHandlers): Socket {
  for (const [event, handler] of Object.entries(handlers)) socket.on(event, handler as (...args: unknown[]) => void);
  return socket;
}

/** The refusal carried by a `connect_error` from the server's connect handler, if any. */
export function refusal(err: unknown): { code: string; message: string } | null {
  const data = (err as { data?: unknown } | null)?.data;
  if (data && typeof data === "object" && "code" in data) {
    const { code, detail } = data as { code: unknown; detail: unknown };
    return { code: String(code), message: typeof detail === "string" ? detail : "" };
  }
  return null;
}

/** Why the session is over, for people, when a `connect_error` is a refusal that ends it; null when it may pass. */
export function sessionLostBy(err: unknown): string | null {
  const why = refusal(err);
  return why && SESSION_LOST_CODES.has(why.code) ? sessionLostMessage(why.code, why.message) : null;
}
