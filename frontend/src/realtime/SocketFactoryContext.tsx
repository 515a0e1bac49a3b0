import { createContext, useContext } from "react";
import { defaultSocketFactory, type SocketFactory } from "@bbauth/capture";

/** How sockets are opened: socket.io-client in the app, a stand-in in unit tests. */
export const SocketFactoryContext = createContext<SocketFactory>(defaultSocketFactory);

export function useSocketFactory(): SocketFactory {
  return useContext(SocketFactoryContext);
}
