"""What every capability shares: the PONI geometry model, detectors and calibrants (behind small
adapters over pyFAI), panel layouts, fit histories, long-job progress and cancel, plain JSON.

Imports only :mod:`calterm.core.io` and :mod:`calterm.errors`; the capabilities build on it and
never on one another.
"""
