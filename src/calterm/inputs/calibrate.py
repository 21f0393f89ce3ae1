"""The geometry calibration's request (``calterm calibrate``, ``calterm tui``, the app's screens 1-3)
from what the user typed: the ONE builder of :class:`CalibrationRequest`.

A face hands a mapping of field keys to what was typed (argparse's values, an Input widget's text)
and, when editing an existing request, that request as ``base``: keys left out keep its values, so
a screen applies one field at a time through the same parser the command line uses for all of
them. The answer is the frozen core request, or a :class:`FieldError` whose ``field`` is the key
(a screen turns that field red) and whose one-line message names the field as that face calls it
(``name(key)``: ``--wavelength`` on the command line, ``Wavelength Å`` on screen 1).

The keys (argparse's ``dest`` names): image, calibrant, wavelength, energy, frame, detector,
pixel_size, rotate, flip, mask, distance, center, point (X,Y[@RING] texts), grow, search_size,
rings, fix, free, bound (``PARAM=LO,HI`` texts, or {param: (lo, hi)} with an empty side open and
both empty dropping the bound), peak_method, delta_2th, i_min_factor, i_max, auto_refine, spline
(a Fit2D spline file), sensor (``MATERIAL,THICKNESS_UM``), fit_distortion (True, False or None).
Output paths are checked here too (:func:`calibration_outputs`), before any work starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from calterm.core.calibrate.model import PEAK_METHODS, CalibrationRequest, ControlPoint
from calterm.core.common.geometry import PARAMS, Constraints
from calterm.errors import InputError
from calterm.inputs.values import (
    FieldError,
    existing_file,
    field_text,
    in_field,
    output_path,
    parse_names,
    parse_number,
    parse_wavelength,
    parse_xy,
)

FieldName = Callable[[str], str]
Typed = str | float | int | bool | None

_CLI_NAMES = {"image": "IMAGE", "grow": "--no-grow"}
# output key -> kind of output (its allowed suffixes: calterm.core.io.writer.OUTPUT_SUFFIXES)
OUTPUT_KINDS = {"poni": "poni", "history": "csv", "pattern": "pattern", "cake": "image", "residuals": "csv"}


def cli_name(key: str) -> str:
    """A field as the command line calls it: ``search_size`` -> ``--search-size``."""
    return _CLI_NAMES.get(key, "--" + key.replace("_", "-"))


def parse_point(text: str, default_ring: int | None = None) -> ControlPoint:
    """``X,Y`` or ``X,Y@RING`` (ring numbers start at 1) -> a control point."""
    xy, _, ring = str(text).partition("@")
    x, y = parse_xy(xy)
    if not ring.strip():
        return ControlPoint(x, y, default_ring)
    try:
        n = int(ring)
    except ValueError:
        raise InputError(f"ring number must be an integer, got {ring!r} in {text!r}") from None
    if n < 1:
        raise InputError(f"ring numbers start at 1, got {n} in {text!r}")
    return ControlPoint(x, y, n)


def parse_bound(param: str, lo: Typed, hi: Typed) -> tuple[float, float] | None:
    """One parameter's bounds in PONI units: an empty side is open (±inf), both empty: no bound."""
    if param not in PARAMS:
        raise InputError(f"unknown geometry parameter {param!r} (use {', '.join(PARAMS)})")
    if not field_text(lo) and not field_text(hi):
        return None
    low = parse_number(field_text(lo), f"{param} low", optional=True)
    high = parse_number(field_text(hi), f"{param} high", optional=True)
    low, high = -math.inf if low is None else low, math.inf if high is None else high
    if not low < high:
        raise InputError(f"{param}: the low bound must be below the high one, got {low:g}, {high:g}")
    return low, high


def parse_bounds(value, base: Mapping[str, tuple[float, float]] | None = None) -> dict[str, tuple[float, float]]:
    """``PARAM=LO,HI`` texts (the CLI's repeated ``--bound``) or {param: (lo, hi)}, over ``base``."""
    out = dict(base or {})
    items = value.items() if isinstance(value, Mapping) else [_split_bound(t) for t in _list(value)]
    for param, (lo, hi) in items:
        bound = parse_bound(param.strip(), lo, hi)
        if bound is None:
            out.pop(param.strip(), None)
        else:
            out[param.strip()] = bound
    return out


def _split_bound(text: str) -> tuple[str, tuple[str, str]]:
    param, eq, values = str(text).partition("=")
    parts = values.split(",")
    if not eq or len(parts) != 2 or not (parts[0].strip() or parts[1].strip()):
        raise InputError(f"a bound is PARAM=LO,HI, got {text!r}")
    return param, (parts[0], parts[1])


def _list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _int_at_least(value: Typed, label: str, least: int, optional: bool = False, default: int | None = None):
    n = parse_number(value, label, integer=True, optional=optional, default=default)
    if n is not None and n < least:
        raise InputError(f"{label}: must be at least {least}, got {n}")
    return n


def _changes(key: str, value, base: CalibrationRequest | None, label: str) -> dict:
    """The request fields one typed field sets."""
    if key == "image":
        return {"image_path": existing_file(value, label)}
    if key == "calibrant":
        if not field_text(value):
            raise InputError(f"{label}: a calibrant name or .D file is needed")
        return {"calibrant": field_text(value)}
    if key == "frame":
        return {"frame": _int_at_least(value, label, 0, default=0)}
    if key == "detector":
        return {"detector": None if field_text(value).lower() in ("", "auto") else field_text(value)}
    if key == "pixel_size":
        return {"pixel_size_um": parse_number(value, label, optional=True, positive=True)}
    if key == "rotate":
        angle = parse_number(value, label, integer=True, default=0)
        if angle not in (0, 90, 180, 270):
            raise InputError(f"{label}: one of 0, 90, 180, 270, got {angle}")
        return {"rotate": angle}
    if key == "flip":
        flip = field_text(value).lower() or None
        if flip not in (None, "h", "v"):
            raise InputError(f"{label}: h, v or nothing, got {value!r}")
        return {"flip": flip}
    if key == "mask":
        return {"mask_path": existing_file(value, label, optional=True)}
    if key == "distance":
        return {"distance_mm": parse_number(value, label, optional=True, positive=True)}
    if key == "center":
        return {"center_xy": parse_xy(field_text(value)) if field_text(value) else None}
    if key == "point":
        return {"points": tuple(parse_point(t) for t in _list(value))}
    if key == "grow":
        return {"grow_points": bool(value)}
    if key == "auto_refine":
        return {"auto_refine": bool(value)}
    if key == "search_size":
        return {"search_size_px": _int_at_least(value, label, 1, default=10)}
    if key == "rings":
        return {"rings": _int_at_least(value, label, 1, optional=True)}
    if key == "peak_method":
        method = field_text(value) or "spokes"
        if method not in PEAK_METHODS:
            raise InputError(f"{label}: one of {', '.join(PEAK_METHODS)}, got {method!r}")
        return {"peak_method": method}
    if key == "delta_2th":
        return {"delta_2th_deg": parse_number(value, label, optional=True, positive=True)}
    if key == "i_min_factor":
        factor = parse_number(value, label, default=0.1)
        if factor < 0:
            raise InputError(f"{label}: a fraction of 0 or more, got {factor:g}")
        return {"i_min_factor": factor}
    if key == "i_max":
        return {"i_max": parse_number(value, label, optional=True, positive=True)}
    if key == "spline":
        return {"spline_path": existing_file(value, label, optional=True)}
    if key == "sensor":
        return {"sensor": parse_sensor(value, label)}
    if key == "fit_distortion":  # True: always; False/None typed as such: never/when the verdict sees one
        return {"fit_distortion": value if value is None or isinstance(value, bool) else bool(value)}
    raise InputError(f"{label}: not a calibration field")


def parse_sensor(value: Typed, label: str = "--sensor") -> tuple[str, float] | None:
    """``MATERIAL,THICKNESS_UM`` (``Si,450``) -> (pyFAI's material name, µm); empty -> None."""
    from calterm.core.common.sensor import sensor_material

    text = field_text(value)
    if not text:
        return None
    material, comma, thickness = text.partition(",")
    if not comma or not material.strip():
        raise InputError(f"{label}: MATERIAL,THICKNESS_UM is expected (Si,450), got {text!r}")
    um = parse_number(thickness.strip(), f"{label} thickness (µm)", positive=True)
    try:
        return sensor_material(material), um
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None


def calibration_request(fields: Mapping[str, object], base: CalibrationRequest | None = None,
                        name: FieldName = cli_name) -> CalibrationRequest:
    """The request from typed ``fields`` (over ``base`` when given); one FieldError naming the field."""
    changes: dict = {}
    constraint_keys = ("fix", "free", "bound")
    for key, value in fields.items():
        if key in ("wavelength", "energy") or key in constraint_keys:
            continue
        changes.update(in_field(key, name, _changes, key, value, base, name(key)))
    wavelength, energy = fields.get("wavelength"), fields.get("energy")
    # a new image and no wavelength typed with it: its header's, if it has one (from_header says so)
    header_m = (None if field_text(wavelength) or field_text(energy) or "image_path" not in changes
                else _header_wavelength_m(changes["image_path"], changes.get("frame", 0)))
    if header_m is not None:
        changes["wavelength_m"], changes["from_header"] = header_m, ("wavelength_A",)
    elif base is None and not field_text(wavelength) and not field_text(energy):
        raise FieldError("wavelength", f"{name('wavelength')} or {name('energy')}: a value is needed "
                                       "(the image header has none)")
    elif "wavelength" in fields or "energy" in fields or base is None:
        key = "wavelength" if field_text(wavelength) or not field_text(energy) and "energy" not in fields else "energy"
        if key in fields and not field_text(fields[key]) and not field_text(energy if key == "wavelength" else wavelength):
            raise FieldError(key, f"{name(key)}: a value is needed")
        changes["wavelength_m"] = in_field(key, name, parse_wavelength, wavelength, energy,
                                         names=(name("wavelength"), name("energy")))
        changes["from_header"] = tuple(f for f in (base.from_header if base else ()) if f != "wavelength_A")
    if any(k in fields for k in constraint_keys):
        changes["constraints"] = _constraints(fields, base.constraints if base else Constraints(), name)
    if base is not None:
        return replace(base, **changes)
    for key, field_name in (("image", "image_path"), ("calibrant", "calibrant")):
        if field_name not in changes:
            raise FieldError(key, f"{name(key)}: a value is needed")
    return CalibrationRequest(**changes)


def _header_wavelength_m(image_path: str, frame: int = 0) -> float | None:
    """The wavelength (m) the image's header states (:mod:`calterm.core.io.headers`), None when it
    states none or an implausible one."""
    from calterm.core.io.headers import header_facts

    facts = header_facts(image_path, frame)
    try:
        return None if facts.wavelength_A is None else parse_wavelength(facts.wavelength_A)
    except InputError:
        return None


def _constraints(fields: Mapping[str, object], base: Constraints, name: FieldName) -> Constraints:
    fixed = set(base.fixed)
    for key, add in (("fix", True), ("free", False)):
        names = in_field(key, name, _param_names, fields.get(key), name(key))
        fixed = fixed | names if add else fixed - names
    bounds = in_field("bound", name, parse_bounds, fields.get("bound"), base.bounds)
    return in_field("bound", name, Constraints, frozenset(fixed), bounds)


def _param_names(value, label: str) -> set[str]:
    names = set(parse_names(value) if isinstance(value, str) else _list(value))
    unknown = names - set(PARAMS)
    if unknown:
        raise InputError(f"{label}: unknown geometry parameter(s) {', '.join(sorted(unknown))} "
                         f"(use {', '.join(PARAMS)})")
    return names


def calibration_outputs(paths: Mapping[str, Typed], name: FieldName = cli_name) -> dict[str, Path]:
    """The files to write ({"poni"|"history"|"pattern"|"cake"|"residuals": path}), each checked
    now (a suffix of its kind, a writable directory) and no two the same: nothing is computed for
    an output that could not be written."""
    out: dict[str, Path] = {}
    for key, text in paths.items():
        if field_text(text):
            out[key] = in_field(key, name, output_path, field_text(text), OUTPUT_KINDS[key])
    if len({p.resolve() for p in out.values()}) != len(out):
        raise InputError("two outputs name the same file")
    return out

