import type { Socket } from "socket.io-client";
import type { SocketFactory } from "../src/socket";

type Handler = (...args: unknown[]) => void;

/** A stand-in for a socket.io-client Socket: records emits, lets a test play the server. */
export class MockSocket {
  connected = false;
  active = true;
  handlers = new Map<string, Set<Handler>>();
  emitted: { event: string; args: unknown[] }[] = [];
  connectCalls = 0;
  disconnectCalls = 0;
  managerHandlers = new Map<string, Set<Handler>>();
  io = {
    on: (event: string, handler: Handler) => {
      if (!this.managerHandlers.has(event)) this.managerHandlers.set(event, new Set());
      this.managerHandlers.get(event)!.add(handler);
    },
    off: (event: string, handler: Handler) => this.managerHandlers.get(event)?.delete(handler),
  };
  ackReply: unknown = { ok: true };

  constructor(
    readonly namespace: string,
    readonly options: Record<string, unknown>,
  ) {}

  on(event: string, handler: Handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
    return this;
  }

  off(event: string, handler: Handler) {
    this.handlers.get(event)?.delete(handler);
    return this;
  }

  removeAllListeners() {
    this.handlers.clear();
    return this;
  }

  emit(event: string, ...args: unknown[]) {
    this.emitted.push({ event, args });
    return this;
  }

  timeout() {
    return { emitWithAck: async (event: string, ...args: unknown[]) => {
      this.emitted.push({ event, args });
      return this.ackReply;
    } };
  }

  connect() {
    this.connectCalls += 1;
    return this;
  }

  disconnect() {
    this.disconnectCalls += 1;
    this.connected = false;
    return this;
  }

  /** Play an event from the server side. */
  serverSends(event: string, ...args: unknown[]) {
    if (event === "connect") this.connected = true;
    if (event === "disconnect") this.connected = false;
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler(...args);
  }

  managerSends(event: string, ...args: unknown[]) {
    for (const handler of [...(this.managerHandlers.get(event) ?? [])]) handler(...args);
  }

  emits(event: string) {
    return this.emitted.filter((e) => e.event === event);
  }

  /** The auth payload of a handshake, as socket.io-client asks for it at each (re)connect. */
  handshake(): Promise<Record<string, unknown>> {
    const auth = this.options.auth;
    if (typeof auth !== "function") return Promise.resolve(auth as Record<string, unknown>);
    return new Promise((resolve) => auth((data: Record<string, unknown>) => resolve(data)));
  }
}

/** A factory that hands out MockSockets and remembers them. */
export function mockSocketFactory() {
  const sockets: MockSocket[] = [];
  const factory: SocketFactory = (namespace, options) => {
    const socket = new MockSocket(namespace, options as Record<string, unknown>);
    sockets.push(socket);
    return socket as unknown as Socket;
  };
  return { factory, sockets };
}

/** A Socket.IO refusal as connect_error carries it. */
export function refused(code: string, message = "refused"): Error & { data: unknown } {
  const data = { type: `urn:bbauth:problem:${code}`, title: code, status: 401, detail: message, code };
  return Object.assign(new Error(message), { data });
}
