"""Administration: users, sessions and the audit trail, for the security team."""
