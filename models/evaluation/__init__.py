"""Evaluation of bbauth's models on public data sets, with their published protocols."""
