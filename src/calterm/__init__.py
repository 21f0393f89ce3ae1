"""calterm: calibrate X-ray area detectors from a terminal.

The engine lives in :mod:`calterm.core` (no UI imports); :mod:`calterm.cli` and :mod:`calterm.tui`
are thin faces on it, both parsing what the user types with :mod:`calterm.inputs`; failures reach
the user as the one-line errors of :mod:`calterm.errors`. The map: ``docs/architecture.md``.
"""

__version__ = "0.1.0"
