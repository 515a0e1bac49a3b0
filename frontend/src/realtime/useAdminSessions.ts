import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useDpopKey } from "../auth/DpopContext";
import type { CommandAck, SessionQuery } from "../contract/socket";
import { AdminChannel, INITIAL_ADMIN_SNAPSHOT, localFailure, type AdminCommand, type AdminSnapshot } from "./adminChannel";
import { useSocketFactory } from "./useSocketFactory";

export interface AdminSessionsOptions {
  onSessionLost?: (message: string) => void;
  onReauthRequired?: () => void;
}

export interface AdminSessions extends AdminSnapshot {
  command: (event: AdminCommand, sessionId: string) => Promise<CommandAck>;
  /** Watch another page (sort, filters, page). */
  watch: (query: SessionQuery) => Promise<CommandAck>;
}

const noChannel = {
  subscribe: () => () => undefined,
  getSnapshot: () => INITIAL_ADMIN_SNAPSHOT,
};

const notConnected = async (): Promise<CommandAck> => localFailure("not_connected", "the live feed is not connected");

/** The live page of the /admin namespace, the query it watches, and its challenge/revoke commands
 *  (an `AdminChannel` while `token` is set). */
export function useAdminSessions(token: string | null, options: AdminSessionsOptions = {}): AdminSessions {
  const factory = useSocketFactory();
  const dpop = useDpopKey();
  // The callbacks may be new at every render; the channel lives as long as the token.
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const [channel, setChannel] = useState<AdminChannel | null>(null);

  useEffect(() => {
    if (!token) return;
    const next = new AdminChannel({
      token,
      factory,
      dpop,
      onSessionLost: (message) => optionsRef.current.onSessionLost?.(message),
      onReauthRequired: () => optionsRef.current.onReauthRequired?.(),
    });
    next.open();
    setChannel(next);
    return () => {
      next.close();
      setChannel(null);
    };
  }, [token, factory, dpop]);

  const store = channel ?? noChannel;
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return { ...snapshot, command: channel?.command ?? notConnected, watch: channel?.watch ?? notConnected };
}
