"""Detector health screens: dark statistics (7), mask (8), panel alignment (9)."""
