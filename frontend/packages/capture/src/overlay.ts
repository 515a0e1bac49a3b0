import { browserSupportsWebAuthn, startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";
import type { TrustChannel } from "./channel";
import { IGNORE_ATTR } from "./ignore";
import { codeErrorMessage, ProblemError, type ReauthApi, type ReauthChallenge } from "./rest";
import type { ChallengeCause } from "./types";

/** Why the session was challenged, in words (the page's own dialog may say it too). */
export const CHALLENGE_REASONS: Record<ChallengeCause | "unknown", string> = {
  trust: "The way this session is being used no longer matches your usual typing and mouse behaviour.",
  admin: "Your security team asked you to confirm it's you.",
  policy: "This session needs a fresh check.",
  unknown:
    "The way this session is being used no longer matches your usual typing and mouse behaviour, or the security team asked for a check.",
};

const CODE_LENGTH = 6;
const FOCUSABLE = "input:not([disabled]), button:not([disabled]):not([hidden])";

type Style = Partial<CSSStyleDeclaration>;

// Styles go through the CSSOM (element.style), which a Content-Security-Policy without
// 'unsafe-inline' still allows; a <style> element would be refused on such pages.
const BACKDROP: Style = {
  position: "fixed",
  inset: "0",
  zIndex: "2147483647",
  display: "flex",
  alignItems: "center",
  justifyContent: "center",
  background: "rgba(20, 30, 45, 0.55)",
  backdropFilter: "blur(3px)",
  fontFamily: "system-ui, sans-serif",
};
const DIALOG: Style = {
  background: "#fff",
  color: "#1a2230",
  borderRadius: "8px",
  padding: "24px",
  width: "min(420px, calc(100vw - 32px))",
  boxShadow: "0 12px 40px rgba(0, 0, 0, 0.3)",
  lineHeight: "1.45",
};
const INPUT: Style = {
  display: "block",
  width: "100%",
  boxSizing: "border-box",
  fontSize: "22px",
  letterSpacing: "0.3em",
  padding: "8px 10px",
  margin: "4px 0 8px",
  border: "1px solid #8a94a6",
  borderRadius: "4px",
};
const BUTTON: Style = { padding: "8px 14px", borderRadius: "4px", border: "1px solid #2f5fd0", cursor: "pointer", font: "inherit" };
const PRIMARY: Style = { ...BUTTON, background: "#2f5fd0", color: "#fff" };
const SECONDARY: Style = { ...BUTTON, background: "transparent", color: "#2f5fd0" };
const ALERT: Style = { color: "#b3261e", margin: "4px 0", minHeight: "1.45em" };

function element<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  style: Style,
  attributes: Record<string, string> = {},
  text = "",
): HTMLElementTagNameMap[K] {
  const el = doc.createElement(tag);
  Object.assign(el.style, style);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
  if (text) el.textContent = text;
  return el;
}

/**
 * The forced re-challenge, drawn by the SDK itself for pages that have no dialog of their own:
 * while the session is challenged a modal dialog blocks the page until a fresh one-time code is
 * entered over the REST API. It is labelled and described, keeps focus inside (Tab cycles, focus
 * that leaves is brought back, Escape does nothing), announces errors (role="alert"), and is
 * never captured (`data-bbauth-ignore`; its code field is a one-time-code field as well).
 */
export class ReauthOverlay {
  private root: HTMLElement | null = null;
  private info: ReauthChallenge | null = null;
  private busy = false;
  private returnFocus: HTMLElement | null = null;
  private readonly unsubscribe: () => void;
  private parts!: {
    destination: HTMLElement;
    why: HTMLElement;
    input: HTMLInputElement;
    error: HTMLElement;
    status: HTMLElement;
    resend: HTMLButtonElement;
    submit: HTMLButtonElement;
    passkey: HTMLButtonElement;
  };

  constructor(
    private readonly channel: TrustChannel,
    private readonly api: ReauthApi,
    private readonly doc: Document = document,
  ) {
    this.unsubscribe = channel.subscribe(this.sync);
    this.sync();
  }

  /** Whether the dialog is on the page. */
  get open(): boolean {
    return this.root !== null;
  }

  destroy(): void {
    this.unsubscribe();
    this.hide();
  }

  private sync = (): void => {
    const { challenged, challengeCause } = this.channel.getSnapshot();
    if (challenged && !this.root) this.show();
    if (!challenged && this.root) this.hide();
    if (this.root) this.parts.why.textContent = `${CHALLENGE_REASONS[challengeCause ?? "unknown"]} Your work is kept: enter a fresh code to continue where you were.`;
  };

  private show(): void {
    const doc = this.doc;
    const active = doc.activeElement;
    this.returnFocus = active instanceof HTMLElement ? active : null;
    const root = element(doc, "div", BACKDROP, { [IGNORE_ATTR]: "", "data-bbauth-overlay": "" });
    const dialog = element(doc, "div", DIALOG, {
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": "bbauth-reauth-title",
      "aria-describedby": "bbauth-reauth-why",
    });
    const title = element(doc, "h2", { margin: "0 0 12px", fontSize: "20px" }, { id: "bbauth-reauth-title" }, "Confirm it's still you");
    const why = element(doc, "p", { margin: "0 0 12px" }, { id: "bbauth-reauth-why" });
    const destination = element(doc, "p", { margin: "0 0 12px", color: "#4a5568", fontSize: "14px" }, {}, "Preparing your code…");
    // Offered first when the person has a passkey (no code is mailed until they ask for one).
    const passkey = element(doc, "button", { ...PRIMARY, marginBottom: "12px" }, { type: "button" }, "Use your passkey");
    passkey.hidden = true;
    const form = element(doc, "form", {}, { novalidate: "" });
    const label = element(doc, "label", { fontSize: "14px" }, { for: "bbauth-reauth-code" }, "One-time code");
    const input = element(doc, "input", INPUT, {
      id: "bbauth-reauth-code",
      name: "code",
      type: "text",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      maxlength: String(CODE_LENGTH),
      pattern: "[0-9]*",
      "aria-describedby": "bbauth-reauth-error",
      "aria-invalid": "false",
    });
    const error = element(doc, "p", ALERT, { id: "bbauth-reauth-error", role: "alert" });
    const status = element(doc, "p", { margin: "4px 0", fontSize: "14px" }, { role: "status" });
    const actions = element(doc, "div", { display: "flex", justifyContent: "space-between", gap: "8px", marginTop: "12px" });
    const resend = element(doc, "button", SECONDARY, { type: "button" }, "Send a new code");
    const submit = element(doc, "button", PRIMARY, { type: "submit" }, "Continue");
    actions.append(resend, submit);
    form.append(label, input, error, status, actions);
    dialog.append(title, why, destination, passkey, form);
    root.append(dialog);

    input.addEventListener("input", () => {
      input.value = input.value.replace(/\D/g, "").slice(0, CODE_LENGTH);
      this.render();
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.verify();
    });
    resend.addEventListener("click", () => void this.resend());
    passkey.addEventListener("click", () => void this.withPasskey());
    root.addEventListener("keydown", this.trapKeys);
    doc.addEventListener("focusin", this.keepFocus);

    this.root = root;
    this.parts = { destination, why, input, error, status, resend, submit, passkey };
    this.info = null;
    doc.body.append(root);
    input.focus();
    this.render();
    void this.load();
  }

  private hide(): void {
    if (!this.root) return;
    this.doc.removeEventListener("focusin", this.keepFocus);
    this.root.remove();
    this.root = null;
    this.info = null;
    this.busy = false;
    if (this.returnFocus?.isConnected) this.returnFocus.focus();
    this.returnFocus = null;
  }

  private trapKeys = (e: KeyboardEvent): void => {
    if (e.key === "Escape") {
      e.preventDefault(); // the challenge cannot be dismissed
      return;
    }
    if (e.key !== "Tab" || !this.root) return;
    const focusable = [...this.root.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const at = this.doc.activeElement;
    if (e.shiftKey && (at === first || !this.root.contains(at))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (at === last || !this.root.contains(at))) {
      e.preventDefault();
      first.focus();
    }
  };

  private keepFocus = (e: FocusEvent): void => {
    if (this.root && e.target instanceof Node && !this.root.contains(e.target)) this.parts.input.focus();
  };

  private render(): void {
    if (!this.root) return;
    const { destination, input, resend, submit, passkey } = this.parts;
    const info = this.info;
    const viaApp = info?.channel === "totp";
    const offerPasskey = Boolean(info?.passkey) && browserSupportsWebAuthn();
    const noCodeYet = Boolean(info?.passkey) && info?.code_sent === false;
    destination.textContent = !info
      ? "Preparing your code…"
      : noCodeYet
        ? offerPasskey
          ? "Confirm with your passkey, or ask for a code."
          : "Ask for a code to confirm it's you."
        : viaApp
          ? "Enter the current code from your authenticator app."
          : `We sent a 6-digit code to ${info.destination}.`;
    passkey.hidden = !offerPasskey;
    passkey.disabled = this.busy;
    resend.hidden = viaApp && !noCodeYet;
    resend.textContent = noCodeYet ? "Send me a code instead" : `Send a new code${info ? ` (${info.resends_left} left)` : ""}`;
    resend.disabled = this.busy || !info || info.resends_left <= 0;
    submit.disabled = this.busy || input.value.length !== CODE_LENGTH;
    input.disabled = this.busy;
  }

  private say(error: string | null, status: string | null = null): void {
    const { error: errorLine, status: statusLine, input } = this.parts;
    errorLine.textContent = error ?? "";
    statusLine.textContent = status ?? "";
    input.setAttribute("aria-invalid", error ? "true" : "false");
  }

  private async load(): Promise<void> {
    try {
      this.info = await this.api.info();
      this.render();
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      if (err.status === 409) this.channel.markRestored(); // already answered
      else this.say(err.message);
    }
  }

  private async verify(): Promise<void> {
    const { input } = this.parts;
    if (this.busy || input.value.length !== CODE_LENGTH) return;
    this.busy = true;
    this.say(null);
    this.render();
    try {
      await this.api.verify(input.value);
      this.channel.markRestored();
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      if (!this.root) return;
      this.say(codeErrorMessage(err.code, err.problem, err.message));
      if (err.code === "challenge_closed") void this.load();
    } finally {
      if (this.root) {
        this.busy = false;
        input.value = "";
        this.render();
        input.focus();
      }
    }
  }

  private async withPasskey(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.say(null);
    this.render();
    try {
      const options = await this.api.passkeyOptions();
      const credential = await startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON });
      await this.api.passkeyVerify(credential);
      this.channel.markRestored();
    } catch (err) {
      if (!this.root) return;
      // A refusal of the server's, or the person closing the browser's passkey prompt.
      this.say(err instanceof ProblemError ? err.message : "The passkey was not used. Try again, or ask for a code.");
      if (err instanceof ProblemError && err.code === "challenge_closed") void this.load();
    } finally {
      if (this.root) {
        this.busy = false;
        this.render();
        this.parts.passkey.focus();
      }
    }
  }

  private async resend(): Promise<void> {
    this.busy = true;
    this.say(null);
    this.render();
    try {
      this.info = await this.api.resend();
      this.say(null, `A new code is on its way to ${this.info.destination}.`);
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      this.say(err.message);
    } finally {
      this.busy = false;
      this.render();
      if (this.root) this.parts.input.focus();
    }
  }
}
