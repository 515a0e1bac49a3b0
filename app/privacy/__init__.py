"""Privacy: consent to behavioral capture, export and erasure of behavioral data, retention."""
