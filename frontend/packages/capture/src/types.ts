/**
 * Messages of the Socket.IO channel: the types generated from its AsyncAPI document
 * (`/api/asyncapi.json`, checked in as `src/contract/asyncapi.json`; `npm run contract`), under
 * the names the app uses. Nothing here is written by hand but the generic `Ack`.
 */
import type {
  ChannelProblem,
  Problem,
  ReauthRequiredMessage,
  TrustView,
} from "../../../src/contract/socket";

export type {
  AdminSessionRow,
  CommandAck,
  EnrollmentMessage,
  ModalityProgress,
  PingTrustAck,
  Problem,
  ReauthOkMessage,
  ReauthRequiredMessage,
  RevokedMessage,
  SessionsMessage,
  StatusMessage,
  TrustMessage,
  TrustThresholds,
  TrustView,
  UnmonitoredSession,
} from "../../../src/contract/socket";

export type TrustLevel = TrustView["level"];

/** Why the session was challenged: its trust fell, the security team asked, or a policy. */
export type ChallengeCause = NonNullable<ReauthRequiredMessage["cause"]>;

/** An `error` event: a problem with the batch, and what was dropped. */
export type ServerError = ChannelProblem;

/** Every acknowledgement: `{ok: true, ...}` or `{ok: false, error}`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: Problem };
