"""The single-ring fit's inputs (``calterm circle``, the app's screen 6) from what the user typed.

Like :mod:`calterm.inputs.calibrate`: a mapping of field keys (argparse's ``dest`` names) to the
typed text or value; the answer is frozen (the core's :class:`CircleOptions` inside a
:class:`CircleRequest`) or one :class:`FieldError` naming the field. The history CSV's path is
checked here, before the image is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calterm.errors import InputError
from calterm.inputs.calibrate import FieldName, cli_name
from calterm.inputs.values import (
    FieldError,
    field_text,
    in_field,
    output_path,
    parse_number,
    parse_wavelength,
    parse_xy,
)

if TYPE_CHECKING:
    from calterm.core.circle.robust import CircleOptions
    from calterm.core.io.headers import HeaderFacts

MIN_POINTS = 5


@dataclass(frozen=True)
class RingScale:
    """What turns the fitted radius into a calibration: a d-spacing or a calibrant's ring (with a
    wavelength: the distance), or a distance (calibration by parameters: the d-spacing)."""

    d_spacing_nm: float | None = None
    calibrant: str | None = None
    order: int = 1
    wavelength_A: float | None = None
    distance_mm: float | None = None


@dataclass(frozen=True)
class CircleRequest:
    points: tuple[tuple[float, float], ...]
    fixed_center: tuple[float, float] | None
    options: CircleOptions
    scale: RingScale


def circle_options(fields: Mapping[str, object], name: FieldName = cli_name) -> CircleOptions:
    """The robust fit's knobs: search_size (px, 0 = points as given), popsize, generations, starts,
    mad_threshold, points_only, seed; a key left out keeps the core's default."""
    from calterm.core.circle.robust import CircleOptions

    knobs = {"search_size": ("search_px", dict(positive=False)), "popsize": ("popsize", dict(integer=True)),
             "generations": ("generations", dict(integer=True)), "starts": ("starts", dict(integer=True)),
             "mad_threshold": ("mad_threshold", dict(positive=True)), "seed": ("seed", dict(integer=True))}
    values: dict = {}
    for key, (option, how) in knobs.items():
        if key in fields and field_text(fields[key]):
            values[option] = in_field(key, name, parse_number, fields[key], name(key), **how)
    if "points_only" in fields:
        values["use_image"] = not fields["points_only"]
    return in_field("search_size", name, CircleOptions, **values)


def circle_request(fields: Mapping[str, object], name: FieldName = cli_name) -> CircleRequest:
    """Points (X,Y texts: none for the automatic search, else at least five), a known centre, the
    fit's options and what scales the ring (see :class:`RingScale`)."""
    points = tuple(in_field("point", name, parse_xy, str(t)) for t in fields.get("point") or ())
    if points and len(points) < MIN_POINTS:
        raise InputError(f"a ring fit needs at least {MIN_POINTS} points, got {len(points)}")
    center = fields.get("fixed_center")
    fixed = in_field("fixed_center", name, parse_xy, str(center)) if field_text(center) else None
    order = in_field("order", name, parse_number, fields.get("order"), name("order"), integer=True, default=1)
    if order < 1:
        raise InputError(f"{name('order')} must be 1 or more")
    wavelength = fields.get("wavelength")
    scale = RingScale(
        d_spacing_nm=in_field("d_spacing", name, parse_number, fields.get("d_spacing"), name("d_spacing"),
                            optional=True, positive=True),
        calibrant=field_text(fields.get("calibrant")) or None, order=order,
        wavelength_A=(in_field("wavelength", name, parse_wavelength, wavelength, names=(name("wavelength"), "energy"))
                      * 1e10 if field_text(wavelength) else None),
        distance_mm=in_field("distance", name, parse_number, fields.get("distance"), name("distance"),
                           optional=True, positive=True))
    return CircleRequest(points, fixed, circle_options(fields, name), scale)


def circle_history_output(text: object, name: FieldName = cli_name) -> Path | None:
    """The history CSV to write (None when not asked for), checked now."""
    return in_field("history", name, output_path, field_text(text), "csv") if field_text(text) else None


def scale_with_header(scale: RingScale, facts: HeaderFacts) -> tuple[RingScale, dict]:
    """The ring's scale with what the image header adds where nothing was typed: its wavelength,
    and, when neither a d-spacing, a calibrant nor a distance was typed, its distance (calibration
    by parameters). Typed values always win. Also the facts taken: {fact: {"value", "key"}} (the
    "from header" block of the JSON and text)."""
    from dataclasses import replace

    used: dict = {}
    changes: dict = {}
    if scale.wavelength_A is None and facts.wavelength_A is not None:
        changes["wavelength_A"] = facts.wavelength_A
        used["wavelength_A"] = {"value": facts.wavelength_A, "key": facts.keys.get("wavelength_A", "")}
    nothing_typed = scale.d_spacing_nm is None and scale.calibrant is None and scale.distance_mm is None
    if nothing_typed and facts.distance_mm is not None:
        changes["distance_mm"] = facts.distance_mm
        used["distance_mm"] = {"value": facts.distance_mm, "key": facts.keys.get("distance_mm", "")}
    return replace(scale, **changes), used


@dataclass(frozen=True)
class CircleScreenInputs:
    """The single-ring screen's fields (the app's screen 6), read by the CLI's own parser."""

    request: CircleRequest  # no points: the screen's points are placed, not typed as text
    pixel_size_um: float | None  # typed; None: screen 1's or the detector's
    seed_radius_px: float | None  # the automatic search's seed, when typed


def circle_screen_inputs(fields: Mapping[str, object], name: FieldName = cli_name) -> CircleScreenInputs:
    """The screen's fields as :func:`circle_request` reads the CLI's: ``fixed_center`` (only when
    the ``fixed`` box is checked), ``wavelength`` (Å) or ``energy`` (keV), ``distance`` (mm),
    ``d_spacing_A`` (the ring's d in Å; either it or the distance, as the CLI's ``--d-spacing``
    and ``--distance`` exclude each other), ``pixel_size`` (µm), ``seed_radius`` (px) and
    ``search_size`` (px)."""
    wavelength, energy = field_text(fields.get("wavelength")), field_text(fields.get("energy"))
    wavelength_A = (in_field("wavelength" if wavelength else "energy", name, parse_wavelength,
                             wavelength or None, energy or None, names=(name("wavelength"), name("energy")))
                    * 1e10 if wavelength or energy else None)
    d_A = in_field("d_spacing_A", name, parse_number, fields.get("d_spacing_A"), name("d_spacing_A"),
                   optional=True, positive=True)
    if d_A is not None and field_text(fields.get("distance")):
        raise FieldError("d_spacing_A", f"give {name('d_spacing_A')} or {name('distance')}, not both: "
                         "the distance gives d, d gives the distance")
    center = fields.get("fixed_center") if fields.get("fixed") else None
    if fields.get("fixed") and not field_text(center):
        raise FieldError("fixed_center", f"{name('fixed_center')}: type the fixed centre as X,Y")
    request = circle_request({"fixed_center": center, "d_spacing": None if d_A is None else d_A / 10.0,
                              "wavelength": wavelength_A, "distance": fields.get("distance"),
                              "search_size": fields.get("search_size")}, name)
    pixel = in_field("pixel_size", name, parse_number, fields.get("pixel_size"), name("pixel_size"),
                     optional=True, positive=True)
    seed = in_field("seed_radius", name, parse_number, fields.get("seed_radius"), name("seed_radius"),
                    optional=True, positive=True)
    return CircleScreenInputs(request, pixel, seed)
