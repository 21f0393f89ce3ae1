"""The single-ring screen's two jobs, run in a worker (progress and cancel through the JobContext):
``f`` fits the screen's points (:func:`calterm.core.circle.fit.fit_circle`), ``a`` finds the ring
itself (:func:`calterm.core.circle.fit.fit_ring`, what ``calterm circle IMAGE`` does without
``--point``). Both honour the fixed centre and answer the same JSON document the CLI prints, plus
the history and what the scale needs later (the pixel size the detector gives).

A seed (a typed radius, else the cursor) picks the ring when the image has several: the automatic
search gives the centre (rings share it) and the ring at the seed's radius is then fitted through
points on that circle, as if the user had clicked them, each moved to the ring peak within the
search window. With no ring there the most prominent ring stays, and a note says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from calterm.errors import ComputationError, InputError
from calterm.tui.screens.circle.ring_scale import scale_calibration, with_wavelength

if TYPE_CHECKING:
    from calterm.core.calibrate.model import CalibrationRequest
    from calterm.core.circle.fit import CircleResult
    from calterm.core.common.jobs import JobContext
    from calterm.inputs.circle import CircleScreenInputs

SEED_POINTS = 36  # points on the seeded circle (those inside the image are fitted)


@dataclass(frozen=True)
class CircleJob:
    """Everything a job reads, captured on the event loop before it starts."""

    request: CalibrationRequest  # screen 1's: image, frame, rotation, detector, calibrant, λ
    inputs: CircleScreenInputs
    points: tuple[tuple[float, float], ...] = ()
    seed_xy: tuple[float, float] | None = None  # the cursor, when placed

    @property
    def fixed_center(self) -> tuple[float, float] | None:
        return self.inputs.request.fixed_center


def _image(images, request: CalibrationRequest) -> np.ndarray:
    img, _ = images.get(request)
    return np.where(img.invalid, np.nan, img.data)


def fit_points(job: CircleJob, images, ctx: JobContext) -> dict:
    from calterm.core.circle.fit import fit_circle

    image = _image(images, job.request) if job.request.image_path else None
    result = fit_circle(np.array(job.points, dtype=float).reshape(-1, 2), image, job.inputs.request.options,
                        fixed_center=job.fixed_center, ctx=ctx)
    doc = _document(result, "points")
    if image is not None:
        _add_scale(doc, result, job, image.shape)
    return doc


# A seeded search with no ring there still fits a circle, through whatever maxima the search
# windows hold: they scatter over the window (uniformly: RMS ~search/√3). Measured on the
# two-ring test image (search 10 px): real rings 0.02 px RMS from 107-157 peaks, seeds between or
# beyond them 3.6-4.7 px from 12-14 peaks; such a fit is not offered as the ring.
NO_RING_RMS_SHARE = 0.25


def find_ring(job: CircleJob, images, ctx: JobContext) -> dict:
    from calterm.core.circle.fit import fit_ring

    image = _image(images, job.request)
    options = job.inputs.request.options
    found = fit_ring(image, options, fixed_center=job.fixed_center, ctx=ctx)
    seed, source = _seed_radius(job, found)
    result, note = found, ""
    if seed is not None and abs(seed - found.radius) > max(options.search_px, 2.0):
        ctx.report(f"fitting the ring at r≈{seed:.0f} px", 3, 4)
        try:
            seeded = _fit_seeded(image, found.center, seed, job, ctx)
        except (ComputationError, InputError) as exc:
            note = f"no ring at r≈{seed:.0f} px ({source}): kept the most prominent ring ({exc})"
        else:
            limit = options.search_px * NO_RING_RMS_SHARE
            if not seeded.ring_rms <= limit:  # NaN too: no ring peaks found at all
                note = (f"no ring at r≈{seed:.0f} px ({source}): the peaks found around it scatter by "
                        f"{seeded.ring_rms:.1f} px RMS (a ring's stay under {limit:.1f} px); kept the most "
                        "prominent ring")
            else:
                result = seeded
    doc = _document(result, "auto")
    doc["seed"] = None if seed is None else {"radius_px": seed, "from": source, "used": result is not found}
    if note:
        doc["notes"] = [*doc["notes"], note]
    _add_scale(doc, result, job, image.shape)
    return doc


def _seed_radius(job: CircleJob, found: CircleResult) -> tuple[float | None, str]:
    if job.inputs.seed_radius_px is not None:
        return job.inputs.seed_radius_px, "seed r"
    if job.seed_xy is not None:
        r = math.hypot(job.seed_xy[0] - found.center[0], job.seed_xy[1] - found.center[1])
        return (r, "the cursor") if r >= 3.0 else (None, "")
    return None, ""


def _fit_seeded(image: np.ndarray, center, radius: float, job: CircleJob, ctx: JobContext) -> CircleResult:
    from calterm.core.circle.fit import fit_circle

    angles = np.linspace(0.0, 2 * np.pi, SEED_POINTS, endpoint=False)
    pts = np.column_stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles)])
    rows, cols = image.shape
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= cols - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= rows - 1)
    return fit_circle(pts[inside], image, job.inputs.request.options, fixed_center=job.fixed_center, ctx=ctx)


def _document(result: CircleResult, source: str) -> dict:
    doc = result.as_dict()
    doc["source"] = source
    doc["points"] = result.points.tolist()
    doc["history"] = {"columns": list(result.history.columns), "rows": [list(r) for r in result.history.rows]}
    return doc


def _add_scale(doc: dict, result: CircleResult, job: CircleJob, shape: tuple[int, int]) -> None:
    """The pixel size the scale will use (typed here or on screen 1, the detector's named there or in
    the header) and the calibration: the typed scale's, else ring 1 of screen 1's calibrant (the
    header's λ and pixel size if need be). With no pixel size known the fit stays in pixels."""
    from contextlib import suppress

    from calterm.core.circle.calibration import ring_calibration_for_image
    from calterm.core.io.headers import header_facts

    r = job.request
    raw = shape[::-1] if r.rotate in (90, 270) else shape
    facts = header_facts(r.image_path, r.frame)
    # as the CLI: a pixel size typed, named (a detector) or in the header, never a guess from the shape
    known = bool(job.inputs.pixel_size_um or r.pixel_size_um or r.detector) or (
        facts.pixel_size_um is not None or facts.detector is not None)
    pixel, told = job.inputs.pixel_size_um, "typed"
    if pixel is None and r.pixel_size_um:
        pixel, told = float(r.pixel_size_um), "screen 1"
    if pixel is None and known:
        with suppress(InputError):
            from calterm.core.common.detectors import resolve_detector

            choice = resolve_detector(raw, r.detector, None, header=facts)
            pixel, told = math.sqrt(choice.pixel_size_um[0] * choice.pixel_size_um[1]), choice.reason or "detector"
    doc["pixel_size_um"], doc["pixel_from"] = pixel, told
    scale = job.inputs.request.scale
    if scale.distance_mm is not None or scale.d_spacing_nm is not None:
        with suppress(InputError):  # said on the screen, which recomputes it as the fields change
            doc["calibration"] = scale_calibration(result.radius, result.radius_se,
                                                   with_wavelength(scale, r.wavelength_m * 1e10), pixel)
        return
    if r.calibrant and known:
        header_wl = "wavelength_A" in r.from_header
        wavelength = scale.wavelength_A or (None if header_wl else r.wavelength_m * 1e10)
        with suppress(InputError):  # no ring of that calibrant at this wavelength: the fit stays in pixels
            doc["calibration"] = ring_calibration_for_image(
                result.radius, result.radius_se, r.image_path, raw, r.calibrant, frame=r.frame,
                wavelength_A=wavelength, detector=r.detector,
                pixel_size_um=job.inputs.pixel_size_um or r.pixel_size_um)
