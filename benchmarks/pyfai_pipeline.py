"""pyFAI's own calibration pipeline, scripted the way a pyFAI-calib2 user would run it.

Two paths, both from the image file to a PONI file, with rot3 and the wavelength fixed:

* ``automatic``: the typed start values (distance, beam centre, no tilt) as the geometry, then
  ``SingleGeometry.extract_cp`` over every reachable ring and ``GeometryRefinement.refine3``
  repeated until it stops improving; extraction and refinement alternate until the geometry stops
  moving (a tenth of a pixel anywhere on the detector; at most ``max_passes`` passes).
* ``clicks``: a person's clicks on rings 1-4 with the right ring numbers, each snapped to the
  ring by pyFAI's Massif exactly as pyFAI-calib2's peak-picking task does (``find_peaks`` around the
  click, a 3-pixel argmax fallback, masked peaks dropped), and a group the person sees miss the
  ring undone (``review``); the first fit as calib2's
  ``RingCalibration`` makes it (from the typed geometry, and from ``guess_poni``; the better one
  wins); then the same extraction/refinement passes as the automatic path.

Massif shuffles candidate pixels with numpy's global generator, so each path seeds it first.
Written against pyFAI 2026.9 (``pyFAI.goniometer.SingleGeometry``,
``pyFAI.geometryRefinement.GeometryRefinement``, ``pyFAI.massif.Massif``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calterm.core.common.geometry import PoniGeometry

FIXED = ("rot3", "wavelength")
MAX_REFINE_ROUNDS = 100
CLICK_TOLERANCE_PX = 3  # calib2's fallback window when a click lands off the massif

Review = Callable[[np.ndarray, int], bool]  # (points as rows of (row, col), 1-based ring) -> keep?


@dataclass(frozen=True)
class StartValues:
    """What the user gives pyFAI: the file, the detector, calibrant, wavelength and typed values."""

    image_path: str
    detector: object  # a pyFAI registry name, or a pyFAI Detector
    calibrant: str
    wavelength_m: float
    distance_mm: float
    center_xy: tuple[float, float]  # beam centre, x = column, y = row (pixel centres at integers)


@dataclass
class PipelineResult:
    """Outcome of one pyFAI run: the geometry (None if pyFAI raised) and what it cost."""

    path: str  # "automatic" or "clicks"
    geometry: PoniGeometry | None
    error: str | None
    time_s: float
    n_points: int = 0
    n_rings: int = 0
    rms_rad: float = math.nan
    passes: int = 0
    refine_rounds: int = 0
    stages_s: dict[str, float] = field(default_factory=dict)


def _typed_geometry(start: StartValues, detector):
    from pyFAI.geometry import Geometry

    g = Geometry(detector=detector, wavelength=start.wavelength_m)
    x, y = start.center_xy
    g.setFit2D(start.distance_mm, x + 0.5, y + 0.5)  # Fit2D pixels have their origin at a corner
    return g


def _load(start: StartValues):
    import fabio
    import pyFAI.calibrant
    import pyFAI.detectors

    with fabio.open(start.image_path) as img:
        image = np.asarray(img.data)
    detector = start.detector
    if isinstance(detector, str):
        detector = pyFAI.detectors.detector_factory(detector)
    calibrant = pyFAI.calibrant.get_calibrant(start.calibrant)
    calibrant.wavelength = start.wavelength_m
    return image, detector, calibrant


def refine_until_no_improvement(refinement) -> tuple[float, int]:
    """``refine3`` again and again until the mean squared residual stops decreasing (calib2's loop)."""
    best = math.inf
    rounds = 0
    while rounds < MAX_REFINE_ROUNDS:
        score = refinement.refine3(1000000, fix=list(FIXED))
        rounds += 1
        if not score < best:
            break
        best = score
    return best, rounds


def _rms(refinement) -> float:
    d = refinement.data
    tth = refinement.tth(d[:, 0], d[:, 1])
    delta = tth - refinement.calc_2th(d[:, 2].astype(np.int32))
    return float(np.sqrt(np.mean(delta**2)))


def _geometry_change_rad(before: PoniGeometry, after: PoniGeometry, detector, step: int = 32) -> float:
    """Largest 2θ change over the detector between two geometries (a coarse grid is enough)."""
    rows, cols = np.mgrid[0 : detector.shape[0] : step, 0 : detector.shape[1] : step]
    r, c = rows.ravel().astype(float), cols.ravel().astype(float)
    return float(np.max(np.abs(before.tth(detector, r, c) - after.tth(detector, r, c))))


def _extract_and_refine(sg, max_passes: int, result: PipelineResult, t0: float) -> None:
    """Alternate ``extract_cp`` over every reachable ring with refinement until the geometry
    stops moving (a tenth of a pixel anywhere on the detector), at most ``max_passes`` times.
    """
    detector = sg.detector
    for k in range(max_passes):
        before = PoniGeometry.from_pyfai(sg.geometry_refinement)
        sg.extract_cp(max_rings=None)
        result.stages_s[f"extract{k + 1}"] = time.perf_counter() - t0
        if sg.geometry_refinement.data is None or len(sg.geometry_refinement.data) < 5:
            raise RuntimeError("extract_cp found fewer than 5 control points")
        _, rounds = refine_until_no_improvement(sg.geometry_refinement)
        result.refine_rounds += rounds
        result.passes = k + 1
        result.n_rings = int(np.unique(sg.geometry_refinement.data[:, 2]).size)
        result.stages_s[f"refine{k + 1}"] = time.perf_counter() - t0
        after = PoniGeometry.from_pyfai(sg.geometry_refinement)
        if _geometry_change_rad(before, after, detector) < 0.1 * detector.pixel1 / after.dist:
            break


def _finish(sg, poni_path: str | Path | None, result: PipelineResult, t0: float) -> PipelineResult:
    ai = sg.get_ai()
    if poni_path is not None:
        Path(poni_path).unlink(missing_ok=True)  # Geometry.save appends
        ai.save(str(poni_path))
    result.time_s = time.perf_counter() - t0
    result.stages_s["poni"] = result.time_s
    result.geometry = PoniGeometry.from_pyfai(ai)
    result.n_points = int(len(sg.geometry_refinement.data))
    result.rms_rad = _rms(sg.geometry_refinement)
    return result


def automatic(start: StartValues, poni_path: str | Path | None = None, max_passes: int = 3,
              seed: int = 0) -> PipelineResult:
    """pyFAI's ring extraction from the typed start values alone, then refinement."""
    from pyFAI.goniometer import SingleGeometry

    np.random.seed(seed)
    result = PipelineResult("automatic", None, None, math.nan)
    t0 = time.perf_counter()
    try:
        image, detector, calibrant = _load(start)
        result.stages_s["load"] = time.perf_counter() - t0
        sg = SingleGeometry("bench", image=image, calibrant=calibrant, detector=detector,
                            geometry=_typed_geometry(start, detector))
        _extract_and_refine(sg, max_passes, result, t0)
        return _finish(sg, poni_path, result, t0)
    except Exception as exc:  # pyFAI raises many types when a calibration goes wrong
        result.error = f"{type(exc).__name__}: {exc}"
        result.time_s = time.perf_counter() - t0
        return result


def snap_clicks(massif, image, mask, clicks, review: Review | None = None) -> np.ndarray:
    """calib2's peak picking: each (row, col, 1-based ring) click grown by Massif into peaks.

    ``review(points, ring)`` plays the person looking at each group of snapped points: a group it
    rejects is undone. Returns rows of (row, col, 0-based ring index), pyFAI's control-point layout.
    """
    peaks = []
    for row, col, ring in clicks:
        points = massif.find_peaks([row, col], stdout=None)
        if len(points) == 0:
            t = CLICK_TOLERANCE_PX
            r0, c0 = max(row - t, 0), max(col - t, 0)
            window = image[r0 : row + t + 1, c0 : col + t + 1]
            dr, dc = np.unravel_index(np.argmax(window), window.shape)
            points = massif.find_peaks([r0 + dr, c0 + dc], stdout=None)
        points = [p for p in points if mask is None or not mask[int(p[0]), int(p[1])]]
        if points and (review is None or review(np.asarray(points, dtype=np.float64), ring)):
            peaks.extend((p[0], p[1], ring - 1) for p in points)
    return np.asarray(peaks, dtype=np.float64).reshape(-1, 3)


def clicks(start: StartValues, click_points, poni_path: str | Path | None = None, max_passes: int = 3,
           seed: int = 0, review: Review | None = None) -> PipelineResult:
    """pyFAI-calib2's path: Massif-snapped clicks on the first rings, a first fit, then extraction."""
    from pyFAI.geometryRefinement import GeometryRefinement
    from pyFAI.goniometer import SingleGeometry
    from pyFAI.massif import Massif

    np.random.seed(seed)
    result = PipelineResult("clicks", None, None, math.nan)
    t0 = time.perf_counter()
    try:
        image, detector, calibrant = _load(start)
        result.stages_s["load"] = time.perf_counter() - t0
        mask = detector.dynamic_mask(image)
        mask = None if mask is None else np.asarray(mask) != 0
        massif = Massif(image, mask)
        massif.get_labeled_massif()
        massif.log_info = False
        peaks = snap_clicks(massif, image, mask, click_points, review)
        result.stages_s["pick"] = time.perf_counter() - t0
        if len(peaks) < 5:
            raise RuntimeError(f"clicks gave only {len(peaks)} peaks")
        typed = _typed_geometry(start, detector)
        scores = []
        for guess in (False, True):  # calib2's RingCalibration: "without-guess", then "with-guess"
            gr = GeometryRefinement(data=peaks, dist=typed.dist, poni1=typed.poni1, poni2=typed.poni2,
                                    detector=detector, wavelength=start.wavelength_m, calibrant=calibrant)
            if guess:
                gr.guess_poni(FIXED)
            score, rounds = refine_until_no_improvement(gr)
            result.refine_rounds += rounds
            scores.append((score, guess, gr))
        _, _, first = min(scores, key=lambda s: s[0])
        result.stages_s["first_fit"] = time.perf_counter() - t0
        sg = SingleGeometry("bench", image=image, calibrant=calibrant, detector=detector, geometry=first)
        _extract_and_refine(sg, max_passes, result, t0)
        return _finish(sg, poni_path, result, t0)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.time_s = time.perf_counter() - t0
        return result
