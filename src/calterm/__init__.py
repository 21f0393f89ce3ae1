"""calterm: calibrate X-ray area detectors from a terminal.

The engine lives in :mod:`calterm.core` (no UI imports); :mod:`calterm.cli` and :mod:`calterm.tui`
are thin faces on it.
"""

__version__ = "0.1.0"
