"""Passkeys (WebAuthn): registered on the Account page, answering sign-in, step-up and
re-challenge (``ceremony`` checks, ``store`` rows, ``credentials`` changes, ``answers`` uses)."""
