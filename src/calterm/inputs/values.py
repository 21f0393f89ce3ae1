"""Single values a user types: pixel coordinates, lists of names, ranges, numbers, wavelength or
energy, output paths. Every parser raises :class:`InputError` with one line naming what it expected
and what it got; none returns a silent default for text it could not read."""

from __future__ import annotations

import math
from collections.abc import Callable
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

    target = preflight(Path(str(text)).expanduser(), kind)
    if target.is_dir():
        raise InputError(f"{target}: is a directory, not a file name")
    _probe(target.parent if str(target.parent) else Path("."), target)
    return target


def _probe(directory: Path, target: Path) -> None:
    """Create and remove one temporary file where ``target`` will be written: permission bits do
    not tell (root, read-only mounts, ``/proc``), only a try does."""
    import os
    import tempfile

    try:
        fd, name = tempfile.mkstemp(prefix=".calterm-probe-", dir=directory)
    except OSError as exc:
        raise InputError(f"{target}: cannot write in {directory} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(name)


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
        decimal_comma(text, name)
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


def decimal_comma(text: str, name: str) -> None:
    """``0,70932``: a number written with a decimal comma gets its own message (it is not "not a
    number" to the person who typed it, only to Python)."""
    import re

    if re.fullmatch(r"[+-]?\d*,\d+(e[+-]?\d+)?", text.strip(), flags=re.I):
        raise InputError(f"{name}: a decimal point is expected: {text.strip().replace(',', '.')}, "
                         f"not {text.strip()}")


class FieldError(InputError):
    """An :class:`InputError` that knows which field it is about (its key), so a screen can turn
    that field red; its message already names the field as the user sees it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_wavelength(wavelength: str | float | None = None, energy: str | float | None = None, *,
                     names: tuple[str, str] = ("wavelength", "energy")) -> float:
    """The wavelength in metres from a wavelength in Å or an energy in keV (exactly one given),
    within :mod:`calterm.core.common.calibrants`' plausible limits; errors name the field typed."""
    from calterm.core.common.calibrants import wavelength_m

    given = [v for v in (wavelength, energy) if v is not None and str(v).strip()]
    if len(given) != 1:
        raise InputError(f"give exactly one of {names[0]} (Å) or {names[1]} (keV)")
    is_wavelength = wavelength is not None and str(wavelength).strip() != ""
    name = names[0] if is_wavelength else names[1]
    value = parse_number(wavelength if is_wavelength else energy, name)
    try:
        return wavelength_m(value, None) if is_wavelength else wavelength_m(None, value)
    except InputError as exc:  # "wavelength 50 Å is not plausible (...)": the field already says which
        raise InputError(f"{name}: {str(exc).split(' ', 1)[1]}") from None


def field_text(value) -> str:
    """What was typed, stripped ('' for nothing typed)."""
    return "" if value is None else str(value).strip()


def existing_file(value, label: str, optional: bool = False) -> str | None:
    """A file that must exist (``FILE.h5::/path``: the part before ``::``); the user's ``~`` expanded."""
    text = field_text(value)
    if not text:
        if optional:
            return None
        raise InputError(f"{label}: a file is needed")
    head, sep, tail = text.partition("::")
    head = str(Path(head).expanduser())
    if not Path(head).is_file():
        raise InputError(f"{label}: {head}: no such file")
    return head + sep + tail


def in_field(key: str, name: Callable[[str], str], parse, *args, **kwargs):
    """``parse(*args)`` with its error tied to field ``key`` and prefixed by its name (once)."""
    try:
        return parse(*args, **kwargs)
    except FieldError:
        raise
    except InputError as exc:
        message = str(exc)
        label = name(key)
        if not message.startswith(f"{label}:"):
            message = f"{label}: {message}"
        raise FieldError(key, message) from None
