"""A user's own sessions."""
