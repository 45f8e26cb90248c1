// The signed-in user, available to every page (roles hide what a user may not do; the node
// refuses it anyway).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Session } from "./api";

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session | null {
  return useContext(SessionContext);
}
