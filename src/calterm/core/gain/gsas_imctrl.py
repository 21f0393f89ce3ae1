"""Read GSAS-II image-control files (``.imctrl``) safely and convert them to PONI geometry.

GSAS-II writes ``key:str(value)`` lines; its own reader runs ``eval`` on them, which we never do.
Values are read as JSON once the Python spellings are translated (one linear pass) (quotes, ``True``/``False``/
``None``, tuples) and the ``np.float64(...)`` / ``np.int64(...)`` / ``np.True_`` wrappers that
numpy 2 puts into ``str(list)`` are unwrapped; anything that does not read stays a string. A JSON
parser only builds data, so a crafted file can do nothing but fail to parse. The file holds no pixel size or detector: those come from the image
(detector chosen by shape) or from the user.

Geometry: GSAS-II gives ``distance`` (mm, sample to detector plane along its normal), ``center``
([x, y] in mm from the corner of pixel (0, 0); x along columns, y along rows), ``tilt`` and
``rotation`` (degrees). That is Fit2D's model with the direct distance ``distance / cos(tilt)``,
the beam centre in pixels ``center / pixel size`` and the tilt-plane rotation
``rotation + 90°``, so pyFAI's own Fit2D conversion (``Geometry.setFit2D``) does the maths; the
tests check the 2θ map against GSAS-II's formula (``GetTthAzmG2``) to 1e-6°.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from calterm.core.common.geometry import PoniGeometry
from calterm.errors import InputError

REQUIRED = ("wavelength", "distance", "center", "tilt", "rotation")
_JSON_WORD = {"True": "true", "False": "false", "None": "null"}
_NUMPY_NUMBER = frozenset(f"{kind}{bits}" for kind in ("float", "int", "uint") for bits in ("", "16", "32", "64", "128"))
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD_CHARS = _WORD_START | frozenset("0123456789")


class _NotALiteral(ValueError):
    """The text is not a literal this reader understands (it then stays a string)."""


def _end_of_string(text: str, start: int) -> int:
    """Index just after the quoted string opening at ``start`` (backslash escapes skipped)."""
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == quote:
            return i + 1
        else:
            i += 1
    raise _NotALiteral("unterminated string")


def _end_of_word(text: str, start: int) -> int:
    i, n = start, len(text)
    while i < n and text[i] in _WORD_CHARS:
        i += 1
    return i


def _python_to_json(text: str) -> str:
    """GSAS-II's ``str(value)`` spelled as JSON, in one pass over the text.

    One left-to-right scan, each character looked at a bounded number of times, so the time is
    linear in the line: the regular expressions this replaces ran in cubic time on an unclosed
    ``np.float64(`` followed by spaces (0.06 s at 500 characters, 2.6 s at 2000, minutes at
    8 kB), so a corrupt file could hang a run. Quoted strings are copied whole (their words and
    brackets left alone), ``True``/``False``/``None`` and ``np.True_``/``np.False_`` become JSON
    words, ``np.float64(x)``-style wrappers are dropped (their brackets with them) and tuple
    brackets become list brackets.
    """
    out: list[str] = []
    closers: list[str] = []  # for each open "(": what its ")" becomes ("" for a numpy wrapper)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            end = _end_of_string(text, i)
            body = text[i + 1 : end - 1]
            out.append(json.dumps(body) if c == "'" else text[i:end])
            i = end
        elif c in _WORD_START:
            end = _end_of_word(text, i)
            word = text[i:end]
            if word == "np" and end < n and text[end] == ".":
                attr_end = _end_of_word(text, end + 1)
                attr = text[end + 1 : attr_end]
                if attr in ("True_", "False_"):
                    out.append(_JSON_WORD[attr[:-1]])
                    i = attr_end
                    continue
                j = attr_end
                while j < n and text[j].isspace():
                    j += 1
                if attr in _NUMPY_NUMBER and j < n and text[j] == "(":
                    closers.append("")
                    i = j + 1
                    continue
                raise _NotALiteral(f"np.{attr}")
            out.append(_JSON_WORD.get(word, word))
            i = end
        elif c == "(":
            closers.append("]")
            out.append("[")
            i += 1
        elif c == ")":
            if not closers:
                raise _NotALiteral("unbalanced )")
            out.append(closers.pop())
            i += 1
        else:
            out.append(c)
            i += 1
    if closers:
        raise _NotALiteral("unbalanced (")
    return "".join(out)


def _literal(text: str):
    """A value (number, bool, None, list, dict, string) from GSAS-II's ``str(value)``, or the
    stripped text if it does not read as one."""
    try:
        return json.loads(_python_to_json(text.strip()))
    except (ValueError, RecursionError):  # JSONDecodeError and _NotALiteral are ValueErrors
        return text.strip()


def parse_imctrl(text: str) -> dict:
    """All ``key:value`` lines of an image-control file as a dict of literals (never eval)."""
    controls: dict = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        controls[key.strip()] = _literal(value)
    return controls


def _number(controls: dict, key: str, path: str) -> float:
    value = controls.get(key)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{path}: {key} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{path}: {key} is not finite")
    return number


def imctrl_to_geometry(controls: dict, detector, path: str = "imctrl") -> PoniGeometry:
    """PONI geometry on ``detector`` (which gives the pixel size) from parsed GSAS-II controls."""
    from pyFAI.geometry import Geometry

    missing = [k for k in REQUIRED if k not in controls]
    if missing:
        raise InputError(f"{path}: not a calibrated GSAS-II image-control file (missing {', '.join(missing)})")
    wavelength_a = _number(controls, "wavelength", path)
    distance_mm = _number(controls, "distance", path)
    tilt = _number(controls, "tilt", path)
    rotation = _number(controls, "rotation", path)
    center = controls["center"]
    if not (isinstance(center, list | tuple) and len(center) == 2):
        raise InputError(f"{path}: center must be [x, y] in mm, not {center!r}")
    try:
        cx_mm, cy_mm = (float(v) for v in center)
    except (TypeError, ValueError):
        raise InputError(f"{path}: center must be [x, y] in mm, not {center!r}") from None
    if wavelength_a <= 0 or distance_mm <= 0:
        raise InputError(f"{path}: wavelength and distance must be positive")
    for key in ("det2theta", "twoth"):
        value = controls.get(key, 0.0)
        if isinstance(value, int | float) and value:
            raise InputError(f"{path}: a detector 2θ arm ({key}={value}) is not supported; calibrate with pyFAI")
    for key in ("invert_x", "invert_y"):
        if controls.get(key) is True:
            raise InputError(f"{path}: {key} is set; flip the images with --flip instead and recalibrate")
    px_mm, py_mm = detector.pixel2 * 1e3, detector.pixel1 * 1e3
    g = Geometry(detector=detector, wavelength=wavelength_a * 1e-10)
    g.setFit2D(distance_mm / math.cos(math.radians(tilt)), cx_mm / px_mm, cy_mm / py_mm, tilt, rotation + 90.0)
    return PoniGeometry.from_pyfai(g)


def load_imctrl(path: str | os.PathLike, detector) -> tuple[PoniGeometry, dict]:
    """Read an ``.imctrl`` file: the geometry and the parsed controls (for the report)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    controls = parse_imctrl(text)
    return imctrl_to_geometry(controls, detector, str(path)), controls


def ignored_terms(controls: dict) -> list[str]:
    """Corrections GSAS-II applies that a PONI geometry cannot carry (said in the report)."""
    notes = []
    depth = controls.get("DetDepth", 0.0)
    if isinstance(depth, int | float) and depth:
        notes.append(f"DetDepth={depth} (penetration correction) ignored")
    return notes
