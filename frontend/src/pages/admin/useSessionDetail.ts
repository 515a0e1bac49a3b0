import { useCallback } from "react";
import { api } from "../../api/client";
import type { SessionDetail } from "../../api/types";
import { useLoaded, type Loaded } from "../../api/useLoaded";

/** How often an open drill-down asks again: about one scored window's worth of typing. */
export const DETAIL_EVERY_MS = 2000;

/**
 * One session's drill-down (GET /api/admin/sessions/{id}), asked again every `DETAIL_EVERY_MS`
 * while `sessionId` is set, so new windows and challenges arrive while the session runs.
 */
export function useSessionDetail(sessionId: string | null): Loaded<SessionDetail> {
  const fetcher = useCallback(
    () => api.get<SessionDetail>(`/api/admin/sessions/${encodeURIComponent(sessionId ?? "")}`),
    [sessionId],
  );
  return useLoaded(fetcher, { enabled: sessionId !== null, everyMs: DETAIL_EVERY_MS });
}
