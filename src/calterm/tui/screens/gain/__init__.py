"""The gain map screen (0)."""
