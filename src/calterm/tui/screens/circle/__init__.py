"""The single-ring screen (6)."""
