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


def parse_number(value: str | float | int | None, name: str, *, integer: bool = False, optional: bool = False,
                 positive: bool = False, allow_none_word: bool = False, default: float | int | None = None):
    """One number a user typed (a field's text or an argparse value), named ``name`` in the error.

    Empty text gives ``default`` when one is set, None when ``optional``; ``none``/``off`` give None
    when ``allow_none_word`` (a rule switched off). Numbers pass through, checked like text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is not None or optional:
            return default
        raise InputError(f"{name}: a value is needed")
    if isinstance(value, bool):
        raise InputError(f"{name}: expected a number, got {value!r}")
    text = str(value).strip()
    if allow_none_word and text.lower() in ("none", "off"):
        return None
    try:
        number = int(text) if integer else float(text)
    except ValueError:
        raise InputError(f"{name}: expected {'an integer' if integer else 'a number'}, got {text!r}") from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise InputError(f"{name}: expected a {'positive ' if positive else ''}finite number, got {text!r}")
    return number


def parse_words(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Paths or globs: a field's space-separated text (quotes keep a path with spaces whole), or a
    list the shell already split (argparse's ``nargs``)."""
    import shlex

    if text is None:
        return []
    if not isinstance(text, str):
        return [str(t) for t in text]
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InputError(f"cannot split {text!r}: {exc}") from None
