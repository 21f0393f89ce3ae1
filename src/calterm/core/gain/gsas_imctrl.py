"""Read GSAS-II image-control files (``.imctrl``) safely and convert them to PONI geometry.

GSAS-II writes ``key:str(value)`` lines; its own reader runs ``eval`` on them, which we never do.
Values are read as JSON once the Python spellings are translated (quotes, ``True``/``False``/
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
import re
from pathlib import Path

from calterm.core.common.geometry import PoniGeometry
from calterm.errors import InputError

_NUMPY_SCALAR = re.compile(r"np\.(?:float|int|uint)(?:16|32|64|128)?\(\s*([^()]*?)\s*\)")
_NUMPY_BOOL = re.compile(r"np\.(True|False)_")
# Python literal spellings that JSON writes differently; strings are matched whole so that words
# and brackets inside them are left alone
_PY_TOKEN = re.compile(r"'((?:[^'\\]|\\.)*)'|\"(?:[^\"\\]|\\.)*\"|\b(True|False|None)\b|[()]")
_JSON_WORD = {"True": "true", "False": "false", "None": "null"}
REQUIRED = ("wavelength", "distance", "center", "tilt", "rotation")


def _json_token(match: re.Match) -> str:
    if match.group(1) is not None:  # 'single-quoted' -> "double-quoted"
        return json.dumps(match.group(1))
    if match.group(2):
        return _JSON_WORD[match.group(2)]
    token = match.group(0)
    return {"(": "[", ")": "]"}.get(token, token)  # a tuple reads as a list; "strings" stay


def _literal(text: str):
    """A value (number, bool, None, list, dict, string) from GSAS-II's ``str(value)``, or the
    stripped text if it does not read as one."""
    cleaned = _NUMPY_BOOL.sub(r"\1", _NUMPY_SCALAR.sub(r"\1", text.strip()))
    try:
        return json.loads(_PY_TOKEN.sub(_json_token, cleaned))
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
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
