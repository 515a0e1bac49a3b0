/**
 * What bbauth tells a person before behavioural capture starts: the consent text, by version.
 * The server records consent to `CONSENT_VERSION` (`app/privacy/consent.py` holds the same
 * version; a new text needs a new version there and here, and people consent again).
 */
export const CONSENT_VERSION = "2026-12-06";

export interface ConsentSection {
  title: string;
  text: string;
}

/** The consent text: what is collected, why, how long it is kept, who sees what. */
export const CONSENT_SECTIONS: ConsentSection[] = [
  {
    title: "What is collected",
    text:
      "The rhythm of your typing and the way you move the pointer: how long keys are held and the gaps between them, " +
      "grouped by the hand, row and finger a key belongs to, and the speed, curvature and pauses of pointer movements. " +
      "Never the characters you type, never passwords or one-time codes; which key you pressed is reduced to its " +
      "hand, row and finger before anything is kept.",
  },
  {
    title: "Why",
    text:
      "To check, while you work, that it is still you at the keyboard: if someone else takes over your session, " +
      "bbauth notices and asks for a one-time code. Without your consent nothing is captured and actions that need " +
      "fresh trust ask for a code instead.",
  },
  {
    title: "How long it is kept",
    text:
      "Your raw input never leaves the memory of the server that scores it. The derived timing features are kept " +
      "for up to a year (by default), replay fingerprints of scored windows for 30 days, and the security audit " +
      "trail for about 13 months; your model is kept until it is retrained or you delete it.",
  },
  {
    title: "Who sees what",
    text:
      "You see your trust score. Your organisation's security team sees trust scores, why a window scored as it " +
      "did and the audit trail, never your text. You can withdraw consent, download or delete your behavioural " +
      "data on your Account page at any time.",
  },
];
