/**
 * Bodies of the bbauth REST API: the types generated from its OpenAPI document
 * (`/api/openapi.json`, checked in as `src/contract/openapi.json`; `npm run contract`), under
 * the names the app uses. Hand-written: only the narrower unions the app reads (`NoticeKind`).
 */
import type { components, operations } from "../contract/rest";

type Schemas = components["schemas"];

/** The JSON body operation `Op` answers with `Status`. */
export type ResponseBody<Op extends keyof operations, Status extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][Status] extends { content: { "application/json": infer Body } } ? Body : never;

export type User = Schemas["UserOut"];
export type AuthOptions = ResponseBody<"get_auth_options", 200>;
export type Challenge = ResponseBody<"post_auth_login", 202>;
export type SessionInfo = Schemas["SessionOut"] & { email?: string };
export type TokenResponse = ResponseBody<"post_auth_verify", 200>;
export type TotpSetup = ResponseBody<"post_factors_totp_setup", 200>;
export type RecoveryCodes = ResponseBody<"post_factors_recovery_replace", 200>;
export type RecoveryStatus = ResponseBody<"get_factors_recovery_status", 200>;
export type Passkey = Schemas["PasskeyOut"];
export type PasskeyList = ResponseBody<"get_passkeys_mine", 200>;
export type ModelStatus = Schemas["ModelStatus"];
export type BehaviorStatus = Schemas["BehaviorStatus"];
export type EndedSessions = ResponseBody<"post_sessions_revoke_others", 200>;

export type NoticeKind =
  | "totp_enabled"
  | "totp_disabled"
  | "password_changed"
  | "email_changed"
  | "enrollment_reset"
  | "factors_reset"
  | "codes_locked"
  | "passkey_added"
  | "passkey_removed"
  | "passkey_cloned"
  | "recovery_codes_made"
  | "recovery_code_used"
  | "session_revoked_codes";

/** A security notice mailed to the account's owner (`kind`: a `NoticeKind`). */
export type SecurityNotice = Schemas["NoticeOut"];

/** What a security notice's link did. */
export type LinkOutcome = ResponseBody<"post_account_use_link", 200>;

export type AdminUser = Schemas["AdminUserOut"];

/** A payment approved on the work page (`POST /api/demo/payments`). */
export type PaymentReceipt = ResponseBody<"post_demo_approve_payment", 201>;
export type ForwardAuthCookie = ResponseBody<"post_forward_auth_issue_cookie", 200>;

export type FieldError = NonNullable<Schemas["Problem"]["errors"]>[number];

/**
 * RFC 9457 problem details, as every error of the API answers (`challenge`: the step-up's).
 * Partial: the client also reads error bodies a proxy wrote, and makes its own (network errors).
 */
export type Problem = Partial<Omit<Schemas["Problem"], "challenge">> & { challenge?: Challenge };

export type Integration = Schemas["IntegrationOut"];
/** A new integration with its API key and webhook secret: the only time either is shown. */
export type IssuedIntegration = ResponseBody<"post_integration_keys_create", 201>;
export type RotatedWebhookSecret = ResponseBody<"post_integration_keys_rotate_secret", 200>;

export type ConsentStatus = ResponseBody<"get_privacy_consent_status", 200>;
export type BehaviorExport = ResponseBody<"get_privacy_export_mine", 200>;
export type BehaviorErased = ResponseBody<"delete_privacy_erase_mine", 200>;
export type ModelVersion = Schemas["ModelVersionOut"];
export type SessionLabel = Schemas["LabelOut"];
export type SessionDetail = ResponseBody<"get_admin_session_detail", 200>;
export type ScoredWindow = Schemas["WindowOut"];
export type DetectionFigures = ResponseBody<"get_detection_detection_figures", 200>;
