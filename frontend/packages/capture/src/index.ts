/**
 * bbauth's capture SDK: keyboard and pointer behaviour of a page streamed to bbauth, live trust
 * back, and the re-challenge when trust falls. Framework-free; see README.md.
 */
import { autoStart } from "./auto";

export { start, Capture } from "./capture";
export { AUTO_ATTR, CHANNEL_PATH, autoStart, channelCredentials } from "./auto";
export type { CaptureEvents, CaptureEventName, CaptureListener, CaptureStats, StartOptions } from "./capture";
export { TrustChannel, INITIAL_SNAPSHOT, PAUSE_NOTICE_GRACE_MS, revokedMessage } from "./channel";
export type { ConnectionState, TrustChannelOptions, TrustSnapshot } from "./channel";
export type { DpopProof, TokenSource } from "./dpop";
export { EventBatcher } from "./batcher";
export type { BatcherOptions } from "./batcher";
export type { EventSink, KeyWireEvent, MouseWireEvent, WireEvent } from "./events";
export { IGNORE_ATTR, ignoreCapture, isIgnoredEvent, isIgnoredTarget } from "./ignore";
export { CHALLENGE_REASONS, ReauthOverlay } from "./overlay";
export { codeErrorMessage, ProblemError, ReauthApi } from "./rest";
export type { ReauthChallenge, RestProblem } from "./rest";
export { SESSION_LOST_CODES, sessionLostMessage } from "./session";
export { defaultSocketFactory, openSocket, refusal, sessionLostBy, SOCKET_OPTIONS, wire } from "./socket";
export type { SocketFactory, SocketHandlers } from "./socket";
export { SnapshotStore } from "./store";
export type * from "./types";

/** The capture a guarded app's injected script started by itself (null on other pages). */
// Pure for bundlers: an app that imports the SDK but not `auto` does not pull in (or run) it.
export const auto = /* @__PURE__ */ autoStart();
