"""Behavioral enrollment and models: samples, profiles, training."""
