import { useCallback, useEffect, useRef, useState } from "react";
import type { Socket } from "socket.io-client";
import { SESSION_LOST_CODES, sessionLostMessage } from "../api/client";
import { useDpopKey } from "../auth/DpopContext";
import { openSocket, refusal } from "./socket";
import { useSocketFactory } from "./SocketFactoryContext";
import type { Ack, AdminSessionRow, SessionsMessage, UnmonitoredSession } from "./types";

export interface AdminSessionsState {
  connected: boolean;
  sessions: AdminSessionRow[];
  /** Live sessions with no socket: no behaviour is seen of them. */
  unmonitored: UnmonitoredSession[];
  /** Server time of the last snapshot, epoch seconds. */
  at: number | null;
  error: string | null;
}

export interface AdminSessionsOptions {
  onSessionLost?: (message: string) => void;
  onReauthRequired?: () => void;
}

/** The live "sessions" feed of the /admin namespace, and its challenge/revoke commands. */
export function useAdminSessions(token: string | null, options: AdminSessionsOptions = {}) {
  const [state, setState] = useState<AdminSessionsState>({
    connected: false,
    sessions: [],
    unmonitored: [],
    at: null,
    error: null,
  });
  const socketRef = useRef<Socket | null>(null);
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const factory = useSocketFactory();
  const dpop = useDpopKey();

  useEffect(() => {
    if (!token) return;
    const socket = openSocket("/admin", token, factory, dpop);
    socketRef.current = socket;
    let retry: ReturnType<typeof setTimeout> | null = null;
    socket.on("connect", () => setState((s) => ({ ...s, connected: true, error: null })));
    socket.on("disconnect", (reason: string) => {
      setState((s) => ({ ...s, connected: false }));
      if (reason === "io server disconnect") retry = setTimeout(() => socket.connect(), 2000);
    });
    socket.on("connect_error", (err: unknown) => {
      const why = refusal(err);
      if (why && SESSION_LOST_CODES.has(why.code)) {
        optionsRef.current.onSessionLost?.(sessionLostMessage(why.code, why.message));
        return;
      }
      if (why?.code === "reauth_required") optionsRef.current.onReauthRequired?.();
      setState((s) => ({ ...s, connected: false, error: why?.message ?? "The live feed is unreachable; retrying…" }));
      if (!socket.active) retry = setTimeout(() => socket.connect(), why?.code === "forbidden" ? 60_000 : 3000);
    });
    socket.on("sessions", (msg: SessionsMessage) =>
      setState({
        connected: true,
        sessions: Array.isArray(msg?.sessions) ? msg.sessions : [],
        unmonitored: Array.isArray(msg?.unmonitored) ? msg.unmonitored : [],
        at: msg?.at ?? null,
        error: null,
      }),
    );
    return () => {
      if (retry !== null) clearTimeout(retry);
      socket.removeAllListeners();
      socket.disconnect();
      socketRef.current = null;
    };
  }, [token, factory, dpop]);

  const command = useCallback(async (event: "challenge" | "revoke", sessionId: string): Promise<Ack> => {
    const socket = socketRef.current;
    if (!socket?.connected) return localFailure("not_connected", "the live feed is not connected");
    try {
      return (await socket.timeout(5000).emitWithAck(event, { session_id: sessionId })) as Ack;
    } catch {
      return localFailure("timeout", "no answer from the server");
    }
  }, []);

  return { ...state, command };
}

/** A command that never reached the server, in the acknowledgements' shape. */
function localFailure(code: string, detail: string): Ack {
  return { ok: false, error: { type: `urn:bbauth:problem:${code}`, title: detail, status: 0, detail, code } };
}
