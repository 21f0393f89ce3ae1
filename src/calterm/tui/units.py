"""The one unit system of the app's screens, and its toggle to PONI units: every number a screen
shows or reads goes through these pure functions, so no two screens can disagree.

Two systems. ``"mm"`` (the default, what a beamline user reads): distance and positions in mm,
rotations and small angles (residuals, RMS) in mrad, 2θ in °, wavelength in Å, pixel size in µm.
``"poni"`` (pyFAI's PONI file): lengths in metres and angles in radians. Some quantities keep
their unit in both: energy in keV, d-spacings in Å (pyFAI's calibrant files), pixel coordinates.

Values live in the core's units (SI: m, rad; keV for energy). A value shown is ``value × 10^k``
(or the degree conversion); a value typed is read as the decimal the user wrote and shifted by
``10^-k`` exactly before the one rounding to a float, so 410.25 typed in mm is the float
``0.41025`` (not ``410.25 * 1e-3``), and a field refilled from the request shows what was typed.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

MM, PONI = "mm", "poni"
SYSTEMS = (MM, PONI)
DESCRIPTION = {MM: "mm, mrad, 2θ in °, λ in Å, pixel in µm", PONI: "PONI units: metres and radians"}

# unit -> power of ten from the base unit (m, rad, keV), or None for degrees (not a decimal shift)
_EXPONENT = {"m": 0, "mm": 3, "µm": 6, "nm": 9, "Å": 10, "rad": 0, "mrad": 3, "°": None, "keV": 0}

# quantity -> (unit in "mm", its format; unit in "poni", its format)
QUANTITIES: dict[str, tuple[str, str, str, str]] = {
    "distance": ("mm", ".4f", "m", ".7f"),
    "position": ("mm", ".4f", "m", ".7f"),
    "rotation": ("mrad", ".4f", "rad", ".7f"),
    "angle": ("mrad", ".4f", "rad", ".7f"),  # small angles: residuals, RMS, noise floor
    "tth": ("°", ".4f", "rad", ".6f"),
    "wavelength": ("Å", ".5f", "m", ".5e"),
    "pixel": ("µm", "g", "m", ".6g"),
    "energy": ("keV", ".4f", "keV", ".4f"),
    "d": ("Å", ".5f", "Å", ".5f"),
}
# the seven PONI parameters (calterm.core.common.geometry.PARAMS) -> their quantity
PARAM_QUANTITY = {"dist": "distance", "poni1": "position", "poni2": "position", "rot1": "rotation",
                  "rot2": "rotation", "rot3": "rotation", "wavelength": "wavelength"}


def system(name: object) -> str:
    """A known system's name; anything else (a missing or damaged preference) is the default."""
    return name if name in SYSTEMS else MM


def other(name: str) -> str:
    """The system the toggle switches to."""
    return PONI if system(name) == MM else MM


def unit(quantity: str, in_system: str) -> str:
    """The unit ``quantity`` is shown and typed in: ``unit("distance", "mm") == "mm"``."""
    mm_unit, _, poni_unit, _ = QUANTITIES[quantity]
    return poni_unit if system(in_system) == PONI else mm_unit


def to_unit(value: float, from_unit: str, into: str) -> float:
    """A float from one unit to another of the same kind (for display and plots)."""
    if from_unit == into:
        return float(value)
    a, b = _EXPONENT[from_unit], _EXPONENT[into]
    if a is None:  # degrees -> radians -> into
        return to_unit(math.radians(value), "rad", into)
    if b is None:
        return math.degrees(to_unit(value, from_unit, "rad"))
    return float(value) * 10.0 ** (b - a)


def shown(quantity: str, value: float, in_system: str, from_unit: str | None = None) -> float:
    """The number a screen shows for ``value``, given in ``from_unit`` (default the base: m, rad, keV)."""
    return to_unit(value, from_unit or _base(quantity), unit(quantity, in_system))


def fmt(quantity: str, value: float | None, in_system: str, *, from_unit: str | None = None, sign: bool = False,
        unit_too: bool = False, spec: str | None = None) -> str:
    """``value`` (in ``from_unit``, default m, rad or keV) shown with the system's decimals
    (``fmt("distance", 0.18, "mm") == "180.0000"``); "" for None, "nan"/"inf" as such; ``sign``: a +
    on positive values; ``unit_too``: "180.0000 mm"; ``spec`` replaces the system's format."""
    if value is None:
        return ""
    spec = spec or QUANTITIES[quantity][3 if system(in_system) == PONI else 1]
    text = format(shown(quantity, value, in_system, from_unit), ("+" if sign else "") + spec)
    return f"{text} {unit(quantity, in_system)}" if unit_too else text


def convert_text(text: str, from_unit: str, into: str) -> str:
    """What the user typed in ``from_unit`` as text in ``into``, converted exactly: the typed decimal
    is shifted by a power of ten and rounded to a float once (``"410.25"`` mm -> ``"0.41025"`` m).
    Text that is not a number is returned unchanged, for the parser to refuse with the user's words."""
    stripped = str(text).strip()
    if from_unit == into or not stripped:
        return stripped
    try:
        typed = Decimal(stripped)
    except InvalidOperation:
        return stripped
    if not typed.is_finite():
        return stripped
    a, b = _EXPONENT[from_unit], _EXPONENT[into]
    if a is None or b is None:  # degrees: no exact decimal shift; one float conversion
        return _short(to_unit(float(typed), from_unit, into))
    return _short(float(typed.scaleb(b - a)))


def typed_in(quantity: str, text: str, in_system: str, into: str) -> str:
    """Text typed in a field of ``quantity`` (in the system's unit) as the parser's unit ``into``."""
    return convert_text(text, unit(quantity, in_system), into)


def convert_parts(text: str, from_unit: str, into: str) -> str:
    """A comma list (a travel ``0,100,200``, a range ``2,30``) converted part by part, each exactly
    as :func:`convert_text` does; a word (``header``) or an empty part stays as typed."""
    if from_unit == into or "," not in str(text):
        return convert_text(text, from_unit, into)
    return ",".join(convert_text(part, from_unit, into) for part in str(text).split(","))


def field_text(quantity: str, value: float | None, from_unit: str, in_system: str, digits: int | None = None) -> str:
    """A stored value (in ``from_unit``) as the text of a field in the system's unit: the shortest
    text that reads back to the same float (or ``digits`` significant digits); "" for None."""
    if value is None:
        return ""
    if not math.isfinite(value):
        return repr(float(value))
    into = unit(quantity, in_system)
    exact = _short(float(value)) if from_unit == into else convert_text(repr(float(value)), from_unit, into)
    return exact if digits is None else f"{float(exact):.{digits}g}"


def header(name: str, quantity: str, in_system: str) -> str:
    """A column header or label with its unit: ``header("dist", "distance", "mm") == "dist mm"``."""
    return f"{name} {unit(quantity, in_system)}"


def _base(quantity: str) -> str:
    return {"energy": "keV", "rotation": "rad", "angle": "rad", "tth": "rad"}.get(quantity, "m")


def _short(value: float) -> str:
    """The shortest text that reads back to ``value``, without a trailing ``.0``."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text
