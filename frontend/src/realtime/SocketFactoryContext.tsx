import { createContext } from "react";
import type { SocketFactory } from "@bbauth/capture";

/** How sockets are opened: a stand-in in unit tests; null for socket.io-client (see
 * `useSocketFactory`, kept apart so the login page's download does not carry the client). */
export const SocketFactoryContext = createContext<SocketFactory | null>(null);
