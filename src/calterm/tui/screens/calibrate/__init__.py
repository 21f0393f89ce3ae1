"""Screens of geometry calibration: parameters (1), points (2), refinement (3), results (5)."""
