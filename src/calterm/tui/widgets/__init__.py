"""Widgets of the terminal app, one per file, each with its own DEFAULT_CSS."""
