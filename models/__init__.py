"""Behavioral biometrics: raw events, features, per-user estimators and their evaluation.

Nothing in this package does web or database I/O.
"""
