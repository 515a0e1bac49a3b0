"""Feedback on sessions: the owner's "that was me" and administrators' labels."""
