import { useContext } from "react";
import { defaultSocketFactory, type SocketFactory } from "@bbauth/capture";
import { SocketFactoryContext } from "./SocketFactoryContext";

/** The socket factory of the context, else socket.io-client's. */
export function useSocketFactory(): SocketFactory {
  return useContext(SocketFactoryContext) ?? defaultSocketFactory;
}
