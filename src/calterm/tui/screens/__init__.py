"""Screens of the terminal app, one per file; each owns its behaviour and talks to the core."""
