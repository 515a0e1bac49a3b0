"""Authentication: password, one-time codes (email and authenticator app), sessions."""
