"""Geometry calibration from a calibrant image: the pipeline behind ``calterm calibrate`` and the TUI.

1. Centre from ring symmetry (:mod:`centre`), no labels needed.
2. Distance and ring labels from the calibrant's comb (:mod:`comb`), or from labelled seed points.
3. First fit on the first resolved rings, then inside-out growth (:mod:`autorefine`).
4. Several comb candidates are tried when the first is not clearly right; the best fit is kept.
   Then, still not good: the centre shifted along the ridge of a one-sided (corner) image, then
   the whole-image centre candidates (a typed centre far off); with no distance typed, last, each
   centre re-centred on the profile's first rings (a strongly tilted detector).
5. A verdict compares the residual with the peak-position noise (:mod:`verdict`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

import numpy as np

from calterm.core.calibrate import autorefine
from calterm.core.calibrate.centre import centre_candidates, find_centre
from calterm.core.calibrate.comb import inner_rings_radius, match_comb, radial_profile
from calterm.core.calibrate.distortion import with_distortion
from calterm.core.calibrate.explained import explain
from calterm.core.calibrate.header_starts import calibrate_trying_header, header_block, with_header_starts
from calterm.core.calibrate.identity import identity_verdict
from calterm.core.calibrate.model import PEAK_METHODS, CalibrationRequest, CalibrationResult
from calterm.core.calibrate.peakpickers import PickerExtractor
from calterm.core.calibrate.points import grow_ring, refine_peak
from calterm.core.calibrate.refine import HISTORY_COLUMNS, ControlPoints
from calterm.core.calibrate.result_detector import calibration_detector
from calterm.core.calibrate.ringpeaks import rings_on_detector
from calterm.core.calibrate.setup_check import with_setup_check
from calterm.core.calibrate.uncertainty import sigma_comments
from calterm.core.calibrate.verdict import judge, ring_residuals
from calterm.core.common.calibrants import Calibrant, load_calibrant
from calterm.core.common.detectors import (
    DetectorChoice,
    detector_mask,
    mean_pixel_m,
)
from calterm.core.common.geometry import geometry_from_center, poni_text
from calterm.core.common.history import History
from calterm.core.common.jobs import JobContext
from calterm.core.common.poni_detectors import keep_gaps_beside
from calterm.core.io.images import Image, load_image, load_mask
from calterm.core.io.writer import write_text_output
from calterm.errors import ComputationError, InputError

DISTANCE_MARGIN = 0.3  # comb scan: typed distance ± 30 %
DEFAULT_DISTANCE_RANGE_M = (0.03, 3.0)
INNER_RINGS = 2  # rings that decide the beam centre (more let a tilt pull it off the beam)
GLOBAL_SEARCH_PX = 24.0  # around each whole-image candidate (already refined on 16x16 bins)
INNER_SEARCH_PX = 40.0  # from the all-rings centre to the first rings' one (27 px apart at 10° tilt)
FIRST_RINGS_PASSES = 3  # profile -> first rings -> centre, until the centre stops moving
SAME_CENTRE_PX = 2.0  # centres closer than this give the same comb and the same fits
PROFILE_STEP = 2  # the comb's radial profile reads every 2nd pixel each way: plenty, 4x cheaper


@dataclass(frozen=True)
class Prepared:
    """An image ready to calibrate: data, usable pixels, detector and ring angles."""

    image: Image
    valid: np.ndarray
    detector: DetectorChoice
    calibrant: Calibrant
    tth_rad: np.ndarray  # every ring below 90° at this wavelength
    d_A: np.ndarray
    request: CalibrationRequest | None = None  # with the header's start values where none was typed
    from_header: dict | None = None  # what the header gave (see header_starts)


def prepare(request: CalibrationRequest) -> Prepared:
    """Load image, detector, mask and calibrant; check they make sense together."""
    if request.peak_method not in PEAK_METHODS:
        raise InputError(f"peak method must be one of {', '.join(PEAK_METHODS)}, not {request.peak_method!r}")
    if not (request.wavelength_m and np.isfinite(request.wavelength_m) and 1e-12 < request.wavelength_m < 2e-9):
        raise InputError(f"wavelength {request.wavelength_m} m is not plausible")
    calibrant = load_calibrant(request.calibrant)
    image = load_image(request.image_path, request.frame, request.rotate, request.flip)
    raw_shape = image.shape if request.rotate % 180 == 0 else image.shape[::-1]
    request, facts, used = with_header_starts(request, raw_shape)
    choice = calibration_detector(request, image.shape, facts)  # with the user's spline and sensor
    valid = ~image.invalid & ~detector_mask(choice, image.shape)
    if request.mask_path:
        valid &= ~load_mask(request.mask_path, image.shape, request.rotate, request.flip)
    if request.i_max is not None:
        valid &= image.data < request.i_max
    if valid.mean() < 0.05:
        raise InputError(f"{request.image_path}: fewer than 5 % of the pixels are usable after masking")
    d = np.asarray(calibrant.d_spacings_A)
    tth = calibrant.two_theta_rad(request.wavelength_m)
    d = d[: tth.size]
    keep = tth < np.radians(89.0)
    return Prepared(image, valid, choice, calibrant, tth[keep], d[keep], request, header_block(used, choice, facts))


def calibrate(request: CalibrationRequest, ctx: JobContext | None = None) -> CalibrationResult:
    """Calibrate the geometry; the result carries its own verdict (check ``result.verdict``)."""
    from threadpoolctl import threadpool_limits

    # Thousands of tiny BLAS calls (3x3 rotations, small SVDs): OpenBLAS threads only spin and
    # steal the core (measured 3.0 -> 2.5 s CPU on a Pilatus1M image with one thread).
    with threadpool_limits(limits=1):
        return calibrate_trying_header(_calibrate, request, ctx or JobContext())


def _calibrate(request: CalibrationRequest, ctx: JobContext) -> CalibrationResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ctx.report("loading")
    prep = prepare(request)
    request = prep.request  # the header's start values where none was typed
    data, valid, det = prep.image.data, prep.valid, prep.detector.detector
    timings["load"] = time.perf_counter() - t0
    if prep.tth_rad.size < 2:
        raise ComputationError(f"{prep.calibrant.name} has fewer than two rings at this wavelength")

    seeds = [(refine_peak(data, valid, p.x, p.y, request.search_size_px), p.ring) for p in request.points]
    picker = None
    if request.peak_method != "spokes":
        picker = PickerExtractor(request.peak_method, data, valid, det, prep.d_A, prep.tth_rad,
                                 request.i_min_factor, seed=request.seed)
    opts = autorefine.RefineOptions(request.constraints, request.rings, delta_2th_deg=request.delta_2th_deg,
                                    i_min_factor=request.i_min_factor, i_max=request.i_max, picker=picker)
    timings.update(centre=0.0, comb=0.0, refine=0.0)
    centre_starts = _centre_starts(prep, request, ctx, timings)
    best = None
    tried: list[tuple[float, float]] = []
    for start_xy, search_px in centre_starts:
        t = time.perf_counter()
        centre = _centre(prep, replace(request, center_xy=start_xy), search_px, ctx)
        timings["centre"] += time.perf_counter() - t
        if _already(centre, tried):
            continue  # the whole-image search came back to a centre already fitted
        tried.append(centre)
        best, distance = _fit_about(prep, request, centre, seeds, opts, ctx, timings, best)
        for shifted in [] if _good(best) else _ridge_shifts(prep, centre, distance):
            best, _ = _fit_about(prep, request, shifted, seeds, opts, ctx, timings, best, candidates=1)
            if _good(best):
                break
        if _good(best):
            break  # no need to try other centres either
    if request.distance_mm is None and not _good(best):
        # Last resort, with no distance to say where the first rings are: each centre tried so far
        # moved to the symmetric centre of the profile's first strong rings (a strongly tilted detector).
        for centre in list(tried):
            inner = _first_rings_centre(prep, centre, ctx)
            if inner is None or _already(inner, tried):
                continue
            tried.append(inner)
            best, _ = _fit_about(prep, request, inner, seeds, opts, ctx, timings, best)
            if _good(best):
                break
    if best is None:
        raise ComputationError("no rings of the calibrant were found in the image (wrong calibrant, wavelength or distance?)")
    _, _, state, rings, verdict, history = best
    state, rings, verdict, det, distortion = with_distortion(prep, request, state, rings, verdict, history, opts, ctx)
    t = time.perf_counter()
    # is it the calibrant the user said? (another may explain the same rings as well: see identity.py)
    identity, verdict = identity_verdict(prep.image.data, prep.valid, det, state.geometry, state.points,
                                         state.residual_rad, verdict, prep.calibrant)
    timings["identity"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return CalibrationResult(
        geometry=state.geometry, sigma=state.sigma, detector_name=prep.detector.name, shape=prep.image.shape,
        rows=state.points.rows, cols=state.points.cols, ring=state.points.ring, residual_rad=state.residual_rad,
        rings=rings, verdict=verdict, history=history, fit2d=state.geometry.fit2d(det), timings_s=timings,
        calibrant=prep.calibrant.name, detector=det, distortion=distortion, identity=identity,
        detector_choice=prep.detector, from_header=prep.from_header,
    )


def _good(best) -> bool:
    return best is not None and best[4].ok


def _already(centre, tried: list[tuple[float, float]]) -> bool:
    """Is ``centre`` one already fitted? Closer than SAME_CENTRE_PX gives the same comb and fits."""
    return any(np.hypot(centre[0] - x, centre[1] - y) < SAME_CENTRE_PX for x, y in tried)


def _fit_about(prep: Prepared, request: CalibrationRequest, centre, seeds, opts, ctx: JobContext,
               timings: dict[str, float], best, candidates: int | None = None) -> tuple:
    """Comb candidates about ``centre`` fitted in turn until one is good: the best outcome so far
    (rank, index, state, rings, verdict, history) and the comb's best distance (None if none)."""
    data, valid, det = prep.image.data, prep.valid, prep.detector.detector
    t = time.perf_counter()
    starts = _start_geometries(prep, request, centre, seeds, ctx)[:candidates]
    timings["comb"] += time.perf_counter() - t
    t = time.perf_counter()
    for k, (geometry, seed_points) in enumerate(starts):
        history = History(HISTORY_COLUMNS)
        state = autorefine.first_fit(data, valid, det, geometry, prep.d_A, prep.tth_rad, opts, history, ctx, seed_points)
        if state is None:
            continue
        state = autorefine.grow(data, valid, det, state, prep.d_A, prep.tth_rad, opts, history, ctx)
        rings = ring_residuals(state.points, state.residual_rad, state.geometry.wavelength)
        judged, judged_residual, judged_rings = state.points, state.residual_rad, rings
        if state.judged is not None:  # averaged points: judged on the single-ray ones (autorefine.FitState)
            judged, judged_residual = state.judged, state.judged_residual_rad
            judged_rings = ring_residuals(judged, judged_residual, state.geometry.wavelength)
        verdict = judge(judged, judged_residual, judged_rings, state.geometry.beam_center_px(det),
                        prep.tth_rad, state.n_rejected,
                        rings_on_detector(state.geometry, det, data.shape, prep.tth_rad),
                        state.geometry.dist / mean_pixel_m(det),
                        explain(data, valid, state.geometry, det, prep.tth_rad))
        verdict = with_setup_check(verdict, state.geometry, det, data.shape, state.sigma)
        candidate = (_rank(verdict), k, state, rings, verdict, history)
        if best is None or candidate[0] < best[0]:
            best = candidate
        if verdict.ok:
            break  # the first (best-scoring) comb candidate already fits: no need to try others
    timings["refine"] += time.perf_counter() - t
    return best, (starts[0][0].dist if starts else None)


def _ridge_shifts(prep: Prepared, centre, distance_m: float | None) -> list[tuple[float, float]]:
    """Centres to try when no fit about ``centre`` was good: 0.6 ring gaps either way along the
    direction where the visible arcs lie. With the beam near an edge or corner, moving the centre
    towards the arcs changes every radius alike, so ring symmetry barely tells those centres apart
    (a ridge), while the first fit needs the centre within half a ring gap to keep the labels."""
    if distance_m is None or prep.tth_rad.size < 2:
        return []
    det = prep.detector.detector
    pixel = mean_pixel_m(det)
    gap = distance_m * (np.tan(prep.tth_rad[1]) - np.tan(prep.tth_rad[0])) / pixel
    radius = _inner_radius_px(prep, distance_m)
    rows, cols = np.nonzero(prep.valid[::4, ::4])
    near = np.hypot(cols * 4 - centre[0], rows * 4 - centre[1]) <= radius
    if not near.any():
        return []
    offset = np.array([cols[near].mean() * 4 - centre[0], rows[near].mean() * 4 - centre[1]])
    if np.hypot(*offset) <= 0.25 * radius:
        return []  # whole rings about the centre: symmetry pins it every way, there is no ridge
    u = offset / np.hypot(*offset)
    return [(centre[0] + f * gap * u[0], centre[1] + f * gap * u[1]) for f in (0.6, -0.6)]


def _inner_radius_px(prep: Prepared, distance_m: float) -> float:
    """Radius (px) holding the first few rings at 1.3x ``distance_m``: the part of the image where
    a tilt barely moves the rings' centres."""
    det = prep.detector.detector
    pixel = mean_pixel_m(det)
    ring = prep.tth_rad[min(INNER_RINGS, prep.tth_rad.size) - 1]
    return 1.3 * distance_m * np.tan(ring) / pixel + 20.0


def _centre_starts(prep: Prepared, request: CalibrationRequest, ctx: JobContext,
                   timings: dict[str, float]) -> Iterator[tuple[tuple[float, float], float | None]]:
    """Where to start looking for the centre, and how far, tried in turn until one fits well: the
    typed centre first, then the best few optima of a search over the whole image."""
    if request.distance_mm is not None and not (np.isfinite(request.distance_mm) and request.distance_mm > 0):
        raise InputError(f"distance must be positive, not {request.distance_mm} mm")
    typed = [] if request.center_xy is None else [(request.center_xy, None)]

    def whole_image():  # lazy: only reached when the typed centre gave no good fit
        t = time.perf_counter()
        found = centre_candidates(prep.image.data, prep.valid, ctx)
        timings["centre"] += time.perf_counter() - t
        yield from ((xy, GLOBAL_SEARCH_PX) for xy in found)

    # A typed centre searches 60 px about itself; one typed further off (a beam moved, a header
    # from another setup) falls back to the whole-image search rather than ending doubtful.
    return chain(typed, whole_image())


def _centre(prep: Prepared, request: CalibrationRequest, search_px: float | None, ctx: JobContext) -> tuple[float, float]:
    """Beam centre from ring symmetry: inner rings only once a distance is known (typed or combed)."""
    data, valid = prep.image.data, prep.valid
    if request.distance_mm is not None:
        return find_centre(data, valid, request.center_xy, search_px,
                           max_radius_px=_inner_radius_px(prep, request.distance_mm * 1e-3), ctx=ctx)
    rough = find_centre(data, valid, request.center_xy, search_px, ctx=ctx)
    det = prep.detector.detector
    pixel = mean_pixel_m(det)
    best = match_comb(radial_profile(data, valid, rough, step=PROFILE_STEP), prep.tth_rad, pixel, DEFAULT_DISTANCE_RANGE_M, 1)[0]
    return find_centre(data, valid, rough, search_px=30.0, max_radius_px=_inner_radius_px(prep, best.distance_m),
                       ctx=ctx)


def _first_rings_centre(prep: Prepared, centre, ctx: JobContext) -> tuple[float, float] | None:
    """The symmetric centre of the first rings alone, found without a distance (from where the
    radial profile's first strong peaks lie), or None. On a strongly tilted detector the centre of
    all rings is pulled off the beam by about r²·tan(tilt)/D (27 px at 10° on a Pilatus1M LaB6
    image), enough for the comb to pick a wrong distance; the first rings' centre is much closer."""
    data, valid = prep.image.data, prep.valid
    for _ in range(FIRST_RINGS_PASSES):
        radius = inner_rings_radius(radial_profile(data, valid, centre, step=PROFILE_STEP), INNER_RINGS)
        if radius is None:
            return None
        moved = find_centre(data, valid, centre, search_px=INNER_SEARCH_PX, max_radius_px=1.3 * radius + 20.0, ctx=ctx)
        done = np.hypot(moved[0] - centre[0], moved[1] - centre[1]) < 1.0
        centre = moved
        if done:
            break
    return centre


def _rank(verdict) -> tuple:
    order = {"good": 0, "doubtful": 1, "failed": 2}[verdict.status]
    return (order, verdict.rms_rad)


def _start_geometries(prep: Prepared, request: CalibrationRequest, centre, seeds, ctx) -> list:
    """Start geometries (correctly labelled, untilted) to try, best first, with grown seed rings."""
    det = prep.detector.detector
    pixel = mean_pixel_m(det)
    labelled = [(xy, ring) for xy, ring in seeds if ring is not None]
    for _, ring in labelled:
        if not 1 <= ring <= prep.tth_rad.size:
            raise InputError(f"ring {ring} does not exist: {prep.calibrant.name} has {prep.tth_rad.size} rings here")
    if labelled:
        # Labelled seeds pin the distance: r = D·tan(2θ_ring) about the symmetric centre.
        ds = [np.hypot(xy[0] - centre[0], xy[1] - centre[1]) * pixel / np.tan(prep.tth_rad[ring - 1])
              for xy, ring in labelled]
        distance = float(np.median(ds))
        grown = [grow_ring(prep.image.data, prep.valid, centre, xy, ring, prep.d_A[ring - 1], request.search_size_px)
                 for xy, ring in labelled] if request.grow_points else []
        seed_points = ControlPoints.concat(grown) if grown else _as_points(labelled, prep)
        return [(geometry_from_center(det, distance, centre, request.wavelength_m), seed_points)]
    if "dist" in request.constraints.fixed:
        # A fixed distance is the user's: it also fixes the ring labels, no comb needed.
        if request.distance_mm is None:
            raise InputError("the distance is fixed: give its value (--distance MM)")
        return [(geometry_from_center(det, request.distance_mm * 1e-3, centre, request.wavelength_m), None)]
    ctx.report("distance and ring labels")
    profile = radial_profile(prep.image.data, prep.valid, centre, step=PROFILE_STEP)
    if request.distance_mm is not None:
        d0 = request.distance_mm * 1e-3
        span = (d0 * (1 - DISTANCE_MARGIN), d0 * (1 + DISTANCE_MARGIN))
    else:
        span = DEFAULT_DISTANCE_RANGE_M
    matches = match_comb(profile, prep.tth_rad, pixel, span)
    starts = []
    for m in matches:
        geometry = geometry_from_center(det, m.distance_m, centre, request.wavelength_m)
        starts.append((geometry, _label_seeds(prep, request, geometry, centre, seeds)))
    return starts


def _label_seeds(prep: Prepared, request: CalibrationRequest, geometry, centre, seeds) -> ControlPoints | None:
    """Unlabelled points take the ring the start geometry puts nearest, and grow along it."""
    if not seeds or not request.grow_points:
        return None
    det = prep.detector.detector
    grown = []
    for xy, _ in seeds:
        tth = float(geometry.tth(det, np.array([xy[1]]), np.array([xy[0]]))[0])
        ring = int(np.argmin(np.abs(prep.tth_rad - tth))) + 1
        grown.append(grow_ring(prep.image.data, prep.valid, centre, xy, ring, prep.d_A[ring - 1], request.search_size_px))
    return ControlPoints.concat(grown)


def _as_points(labelled, prep: Prepared) -> ControlPoints:
    return ControlPoints(
        rows=np.array([xy[1] for xy, _ in labelled]), cols=np.array([xy[0] for xy, _ in labelled]),
        ring=np.array([r for _, r in labelled]), d_A=np.array([prep.d_A[r - 1] for _, r in labelled]),
    )


def write_poni(result: CalibrationResult, path: str | Path, command: str = "") -> Path:
    """Write the PONI file (versioned: an earlier file at ``path`` is kept as a numbered version)."""
    comments = [f"calterm calibration: {result.calibrant}, verdict {result.verdict.status}",
                f"RMS 2theta {result.rms_2th_deg:.6f} deg over {result.rows.size} points", *sigma_comments(result.sigma)]
    detector = result.detector
    if result.distortion is not None:  # the fitted distortion goes beside, as the PONI's spline file
        from calterm.core.calibrate.distortion import write_spline_beside

        detector = write_spline_beside(result, path, command)
    # a binned or rotated detector's gaps: by registry name, or a definition file beside the PONI
    detector = keep_gaps_beside(detector, path, command)
    text = poni_text(result.geometry, detector, result.calibrant, comments=comments)
    return write_text_output(path, text, command=command,
                             inputs={"calibrant": result.calibrant, "detector": result.detector_name})


def refit(result: CalibrationResult, request: CalibrationRequest, keep: np.ndarray) -> CalibrationResult:
    """Refit the same points without those where ``keep`` is False (delete a point, refit)."""
    from calterm.core.calibrate.refine import refine_geometry

    prep = prepare(request)
    pts = ControlPoints(result.rows, result.cols, result.ring,
                        np.array([prep.d_A[r - 1] for r in result.ring])).subset(keep)
    history = History(HISTORY_COLUMNS)
    history.extend(result.history)
    res = refine_geometry(result.geometry, pts, result.detector, request.constraints, history, "refit")
    rings = ring_residuals(pts, res.residual_rad, res.geometry.wavelength)
    verdict = judge(pts, res.residual_rad, rings, res.geometry.beam_center_px(result.detector), prep.tth_rad,
                    n_predicted=rings_on_detector(res.geometry, result.detector, result.shape, prep.tth_rad),
                    px_per_rad=res.geometry.dist / mean_pixel_m(result.detector),
                    explained=explain(prep.image.data, prep.valid, res.geometry, result.detector, prep.tth_rad))
    verdict = with_setup_check(verdict, res.geometry, result.detector, result.shape, res.sigma)
    return replace(result, geometry=res.geometry, sigma=res.sigma, rows=pts.rows, cols=pts.cols, ring=pts.ring,
                   residual_rad=res.residual_rad, rings=rings, verdict=verdict, history=history,
                   fit2d=res.geometry.fit2d(result.detector))
