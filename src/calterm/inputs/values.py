"""Single values a user types: pixel coordinates, lists of names, ranges, numbers, wavelength or
energy, output paths. Every parser raises :class:`InputError` with one line naming what it expected
and what it got; none returns a silent default for text it could not read."""

from __future__ import annotations

import math
from pathlib import Path

from calterm.errors import InputError


def parse_xy(text: str) -> tuple[float, float]:
    """``X,Y`` (or ``X;Y``) in pixels (x = column, y = row); the CLI and the app's typed points."""
    try:
        x, y = (float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        raise InputError(f"expected X,Y in pixels, got {text!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InputError(f"coordinates must be finite, got {text!r}")
    return x, y


def parse_names(text: str) -> list[str]:
    """``a,b,c`` -> ``["a", "b", "c"]`` (blanks dropped)."""
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_range(text: str | None) -> tuple[float | None, float | None] | None:
    """``LO,HI`` with either side empty for an open bound; None stays None."""
    if text is None:
        return None
    try:
        lo, hi = (float(v) if v.strip() else None for v in text.split(","))
    except ValueError:
        raise InputError(f"expected LO,HI (either may be empty), got {text!r}") from None
    return lo, hi


def output_path(text: str | Path, kind: str) -> Path:
    """An output path the user typed, checked before any work starts (see
    :func:`calterm.core.io.writer.preflight`): exit 2 and nothing written when it cannot be used."""
    from calterm.core.io.writer import preflight

    return preflight(Path(str(text)).expanduser(), kind)
