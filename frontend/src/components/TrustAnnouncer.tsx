import { useEffect, useRef, useState } from "react";
import type { TrustSnapshot } from "@bbauth/capture";
import { trustNews } from "../realtime/trustWords";

/** Off screen, yet read by screen readers. */
export const visuallyHidden = {
  position: "absolute",
  width: "1px",
  height: "1px",
  overflow: "hidden",
  clip: "rect(0 0 0 0)",
  clipPath: "inset(50%)",
  whiteSpace: "nowrap",
} as const;

/**
 * A polite live region that puts trust changes into words: a new level, the end of learning, a
 * lost connection. A score moving within its level is not news.
 */
export function TrustAnnouncer({ snapshot }: { snapshot: TrustSnapshot }) {
  const was = useRef<TrustSnapshot | null>(null);
  const [message, setMessage] = useState("");
  useEffect(() => {
    const news = trustNews(was.current, snapshot);
    was.current = snapshot;
    if (news) setMessage(news);
  }, [snapshot]);
  return (
    <div role="status" aria-live="polite" data-testid="trust-announcer" style={visuallyHidden}>
      {message}
    </div>
  );
}
