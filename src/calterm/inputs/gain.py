"""Gain-map requests (``calterm gain``, the app's screen 0) from what the user typed, for both faces.

One parser per field (the 2θ range, the date, the positions), one request, and every output file
(``NAME_YYYY-MM-DD.tif`` and its companions, see :func:`calterm.core.gain.files.output_paths`)
checked before a frame is read. ``name(key)`` says how the face calls a field (see
:mod:`calterm.inputs.health`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from calterm.errors import InputError
from calterm.inputs.health import FieldName, Typed, cli_name, distinct, output_file
from calterm.inputs.values import existing_file, parse_number

if TYPE_CHECKING:
    from calterm.core.gain.files import PositionSpec
    from calterm.core.gain.gain_map import GainOptions

FORMS = ("divide", "multiply")


def _gain_name(key: str) -> str:
    return {"frames": "--position", "folder": "--folder"}.get(key) or cli_name(key)


def parse_tth_range(text: Typed, name: str = "--range") -> tuple[float, float] | None:
    """``MIN,MAX`` in degrees of 2θ, MIN below MAX; empty means "suggest one"."""
    text = "" if text is None else str(text).strip()
    if not text:
        return None
    try:
        lo, hi = (float(t) for t in text.split(","))
    except ValueError:
        raise InputError(f"{name}: expected TTH_MIN,TTH_MAX in degrees, got {text!r}") from None
    if not lo < hi:
        raise InputError(f"{name}: TTH_MIN must be below TTH_MAX, got {text!r}")
    return lo, hi


def parse_date(text: Typed, name: str = "--date") -> _dt.date | None:
    """``YYYY-MM-DD`` (the date in the output names); empty means today."""
    text = "" if text is None else str(text).strip()
    if not text:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name}: expected YYYY-MM-DD, got {text!r}") from None


def position_pairs(frames: Sequence[str], calibrations: Sequence[str]) -> list[tuple[str, str]]:
    """``--position``/``--calibration`` given in the same order: one calibration per position."""
    if len(frames) != len(calibrations):
        raise InputError(f"{len(frames)} --position but {len(calibrations)} --calibration; give one per position")
    return list(zip(frames, calibrations, strict=True))


def gain_output(text: Typed, date: Typed = None, name: FieldName = _gain_name) -> str:
    """The output base ``NAME_YYYY-MM-DD`` with every file it will write checked (suffix, directory)."""
    from calterm.core.gain.files import dated_name, output_paths

    text = "" if text is None else str(text).strip()
    if not text:
        raise InputError(f"{name('output')}: give the output name (the date is appended)")
    base = dated_name(str(Path(text).expanduser()), parse_date(date, name("date")))
    paths = {key: output_file(path, "json" if key == "report" else "image", name("output"))
             for key, path in output_paths(base).items()}
    distinct(paths)
    return base


@dataclass(frozen=True)
class GainRequest:
    """Positions (frames glob + calibration each), options and what to read beside them."""

    specs: tuple[PositionSpec, ...]
    options: GainOptions
    form: str = "divide"
    detector: str | None = None
    pixel_size_um: float | None = None
    mask: str | None = None


def gain_request(*, positions: Sequence[Sequence[str]] = (), folder: Typed = None, detector: Typed = None,
                 pixel_size: Typed = None, mask: Typed = None, tth_range: Typed = None, extrapolate: str = "sparse",
                 degree: Typed = 1, bins: Typed = None, polarization: Typed = 0.99, beamstop_threshold: Typed = 0.5,
                 iterations: Typed = 300, tolerance: Typed = 1e-3, filter_size: Typed = 3, damaged_sigma: Typed = 4.0,
                 form: Typed = "divide", spline: Typed = None, name: FieldName = _gain_name) -> GainRequest:
    """The positions and options, checked; ``spline`` (a Fit2D spline file) is every position's
    detector distortion, replacing one a PONI names."""
    from calterm.core.gain.files import PositionSpec, folder_positions
    from calterm.core.gain.gain_map import MIN_POSITIONS, GainOptions

    folder_text = "" if folder is None else str(folder).strip()
    if folder_text and positions:
        raise InputError(f"give either {name('folder')} or positions (frames and a calibration each), not both")
    if folder_text:
        specs = folder_positions(str(Path(folder_text).expanduser()))
    else:
        specs = [PositionSpec(str(Path(f).expanduser()), str(Path(c).expanduser())) for f, c in positions]
    if not specs:
        raise InputError(f"{name('frames')}: no positions; give three or more (frames glob and calibration each)")
    for k, spec in enumerate(specs):  # the same files twice: refused before a frame is read
        if spec in specs[:k]:
            first = specs.index(spec) + 1
            raise InputError(f"{name('frames')}: position {k + 1} repeats position {first} ({spec.frames}): "
                             "it adds no independent information; give each position once")
    spline_path = existing_file(spline, name("spline"), optional=True)
    if spline_path:  # one detector, one distortion: every position's
        specs = [replace(spec, spline=spline_path) for spec in specs]
    if len(specs) < MIN_POSITIONS:
        raise InputError(f"{name('frames')}: a gain map needs at least {MIN_POSITIONS} positions, got {len(specs)}")
    form_text = str(form or "divide").strip() or "divide"
    if form_text not in FORMS:
        raise InputError(f"{name('form')}: divide or multiply, not {form_text!r}")
    options = GainOptions(
        polarization=parse_number(polarization, name("polarization"), default=0.99),
        bins=parse_number(bins, name("bins"), integer=True, optional=True, positive=True),
        tth_range=parse_tth_range(tth_range, name("range")),
        degree=parse_number(degree, name("degree"), integer=True, positive=True, default=1),
        extrapolate=extrapolate,
        filter_size=parse_number(filter_size, name("filter_size"), integer=True, positive=True, default=3),
        damaged_sigma=parse_number(damaged_sigma, name("damaged_sigma"), positive=True, default=4.0),
        beamstop_threshold=parse_number(beamstop_threshold, name("beamstop_threshold"), positive=True, default=0.5),
        iterations=parse_number(iterations, name("iterations"), integer=True, default=300),
        tolerance=parse_number(tolerance, name("tolerance"), positive=True, default=1e-3))
    if options.iterations < 0:
        raise InputError(f"{name('iterations')}: 0 or more, got {options.iterations}")
    detector_text = "" if detector is None else str(detector).strip()
    mask_text = "" if mask is None else str(mask).strip()
    return GainRequest(tuple(specs), options, form_text, detector_text or None,
                       parse_number(pixel_size, name("pixel_size"), optional=True, positive=True),
                       str(Path(mask_text).expanduser()) if mask_text else None)
