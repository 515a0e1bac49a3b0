import { createContext, useContext } from "react";
import { DpopKey } from "./dpop";

/** The tab's DPoP key (IndexedDB in the app; tests pass their own). */
export const defaultDpopKey = new DpopKey();

export const DpopContext = createContext<DpopKey>(defaultDpopKey);

export function useDpopKey(): DpopKey {
  return useContext(DpopContext);
}
