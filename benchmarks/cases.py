"""Benchmark cases for geometry calibration: full-size detectors rendered by pyFAI at a known
geometry, with the start values a user would type (distance ±5 %, beam centre 10-20 px off, no
tilt) and the clicks a person would make on rings 1-4.

Ring widths (FWHM) are 1.5-2 pixels, as on real detectors: pyFAI renders rings by interpolating
a 1D pattern sampled at about half a pixel, so sub-pixel rings would carry a rendering bias that
no calibration could remove.

Each geometry is defined the way a beamline scientist describes it (Fit2D terms: direct distance,
beam centre in pixels, tilt and tilt-plane rotation), converted once to the PONI convention so
a binned variant of a case (for the smoke test) has exactly the same physics.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from calterm.core.common.geometry import PoniGeometry, geometry_from_fit2d
from calterm.core.io.images import write_image
from calterm.core.simulate import powder as synthetic
from calterm.core.simulate.powder import SyntheticCase, make_detector, render


@dataclass(frozen=True)
class BenchCase:
    """One benchmark image and what a user knows about it."""

    name: str
    description: str
    synthetic: SyntheticCase
    distance_factor: float  # typed distance = true direct distance x this
    center_offset_px: tuple[float, float]  # typed centre = true beam centre + this (full-resolution px)
    click_rings: tuple[int, ...] = (1, 2, 3, 4)  # 1-based rings a person clicks
    clicks_per_ring: int = 3
    click_jitter_px: int = 2  # how far from the ring a click lands (uniform, per axis)
    binning: int = 1  # pixels are this many times larger than the full-size case's

    @property
    def truth(self) -> PoniGeometry:
        return self.synthetic.geometry

    @property
    def wavelength_m(self) -> float:
        return self.truth.wavelength

    @property
    def calibrant(self) -> str:
        return self.synthetic.calibrant

    @property
    def detector_name(self) -> str:
        return self.synthetic.detector or "generic"

    def detector(self):
        """The pyFAI detector the image is rendered on (shared: do not modify it)."""
        return _detector(self.synthetic)

    def true_center_xy(self) -> tuple[float, float]:
        return self.truth.beam_center_px(self.detector())

    def true_direct_distance_mm(self) -> float:
        return self.truth.fit2d(self.detector())["directDist"]

    def typed_distance_mm(self) -> float:
        return round(self.true_direct_distance_mm() * self.distance_factor, 1)

    def typed_center_xy(self) -> tuple[float, float]:
        x, y = self.true_center_xy()
        dx, dy = self.center_offset_px
        return (round(x + dx / self.binning), round(y + dy / self.binning))

    def typed_geometry(self) -> PoniGeometry:
        """The untilted geometry the typed values describe (what both programs start from)."""
        det = self.detector()
        x, y = self.typed_center_xy()
        fit2d = {"directDist": self.typed_distance_mm(), "centerX": x + 0.5, "centerY": y + 0.5}
        return geometry_from_fit2d(det, fit2d, self.wavelength_m)

    def detector_spec(self):
        """What to hand pyFAI's ``detector_factory``: the registry name, or the detector itself."""
        return self.synthetic.detector or self.detector()

    def binned(self, binning: int) -> BenchCase:
        """The same geometry on pixels ``binning`` times larger (for fast tests).

        pyFAI bins a registered detector only when its shape divides evenly (a Pilatus1M's
        1043 rows do not); otherwise the binned case is a generic flat panel of the binned size,
        without module gaps.
        """
        det = make_detector(self.synthetic)
        shape = tuple(int(s) for s in det.shape)
        if all(s % binning == 0 for s in shape):
            synthetic = replace(self.synthetic, binning=self.synthetic.binning * binning)
        else:
            synthetic = replace(self.synthetic, detector=None, shape=(shape[0] // binning, shape[1] // binning),
                                pixel_size_um=det.pixel1 * 1e6 * binning, binning=1)
        return replace(self, name=f"{self.name}-bin{binning}", synthetic=synthetic, binning=self.binning * binning)


@cache
def _detector(synthetic_case: SyntheticCase):
    return make_detector(synthetic_case)


def fit2d_poni(detector: str, x: float, y: float, dist_mm: float, tilt_deg: float, plane_deg: float,
               wavelength_A: float) -> PoniGeometry:
    import pyFAI.detectors

    det = pyFAI.detectors.detector_factory(detector)
    fit2d = {"directDist": dist_mm, "centerX": x + 0.5, "centerY": y + 0.5, "tilt": tilt_deg,
             "tiltPlanRotation": plane_deg}
    # rot3 = 0 exactly: both programs fit with rot3 fixed (pyFAI's and calterm's default), and
    # Fit2D's tilt convention would otherwise leave a small rot3 no fit could reach.
    return replace(geometry_from_fit2d(det, fit2d, wavelength_A * 1e-10), rot3=0.0)


@cache
def all_cases() -> dict[str, BenchCase]:
    """The benchmark cases by name (the order is the table's order)."""
    cases = [
        BenchCase(
            "pilatus1m-lab6",
            "Pilatus1M, LaB6 at 0.62 Å, 200 mm, beam near the middle, module gaps, 0.6° tilt",
            SyntheticCase("Pilatus1M", "LaB6", fit2d_poni("Pilatus1M", 512.3, 540.7, 200.0, 0.6, 40.0, 0.6199),
                          peak_intensity=3000.0, background=30.0, resolution_deg=0.08, seed=11),
            distance_factor=1.05, center_offset_px=(12.0, -9.0),
        ),
        BenchCase(
            "eiger4m-ceo2-corner",
            "Eiger4M, CeO2 at 0.73 Å, 150 mm, beam 60 px from a corner (arcs only), 0.05 rad tilt",
            SyntheticCase("Eiger4M", "CeO2", fit2d_poni("Eiger4M", 60.4, 2105.2, 150.0, math.degrees(0.05), 30.0, 0.7293),
                          peak_intensity=2000.0, background=20.0, resolution_deg=0.05, seed=12),
            distance_factor=0.95, center_offset_px=(-15.0, 18.0),
        ),
        BenchCase(
            "perkin-si-noisy",
            "PerkinElmer (2048², 200 µm), Si at 0.21 Å, 500 mm, strong background, 500 hot + 3000 dead pixels",
            SyntheticCase("Perkin", "Si", fit2d_poni("Perkin", 1030.4, 1015.8, 500.0, 0.3, 120.0, 0.2066),
                          peak_intensity=600.0, background=400.0, resolution_deg=0.05, hot_pixels=500,
                          dead_pixels=3000, seed=13),
            distance_factor=1.05, center_offset_px=(20.0, 10.0),
        ),
        BenchCase(
            "pilatus1m-ceo2-offdet",
            "Pilatus1M, CeO2 at 0.77 Å, 180 mm, beam 120 px left of the detector (arcs only), 1° tilt",
            SyntheticCase("Pilatus1M", "CeO2", fit2d_poni("Pilatus1M", -120.0, 520.0, 180.0, 1.0, 180.0, 0.7749),
                          peak_intensity=3000.0, background=30.0, resolution_deg=0.08, seed=14),
            distance_factor=0.95, center_offset_px=(-10.0, -16.0),
        ),
        # issue 12: where calterm was only about as accurate as pyFAI's click path (0.85-1.2x)
        BenchCase(
            "pilatus1m-lab6-tilted",
            "Pilatus1M, LaB6 at 0.71 Å, 250 mm, 4° tilt, beam near the middle, module gaps",
            SyntheticCase("Pilatus1M", "LaB6", fit2d_poni("Pilatus1M", 495.6, 560.3, 250.0, 4.0, 150.0, 0.7085),
                          peak_intensity=2500.0, background=40.0, resolution_deg=0.06, seed=15),
            distance_factor=1.05, center_offset_px=(-14.0, 11.0),
        ),
        BenchCase(
            "eiger1m-si-offedge",
            "Eiger1M, Si at 0.62 Å, 160 mm, beam 60 px off its left edge (arcs only), 1.5° tilt",
            SyntheticCase("Eiger1M", "Si", fit2d_poni("Eiger1M", -60.0, 540.0, 160.0, 1.5, 200.0, 0.6199),
                          peak_intensity=2000.0, background=25.0, resolution_deg=0.07, seed=16),
            distance_factor=0.95, center_offset_px=(12.0, 14.0),
        ),
        BenchCase(
            "perkin-si-ramp",
            "PerkinElmer (2048², 200 µm), Si at 0.18 Å, 410 mm, 2° tilt, 900-count peaks on 300 counts with a "
            "strong ramp (x 0.25-1.75 across), 500 hot + 3000 dead pixels",
            SyntheticCase("Perkin", "Si", fit2d_poni("Perkin", 1010.4, 1040.8, 410.0, 2.0, 60.0, 0.18),
                          peak_intensity=900.0, background=300.0, resolution_deg=0.05, hot_pixels=500,
                          dead_pixels=3000, background_ramp=(1.5, -0.8), seed=21),
            distance_factor=1.05, center_offset_px=(15.0, -12.0),
        ),
    ]
    return {c.name: c for c in cases}


def image_path(case: BenchCase, directory: Path) -> Path:
    """The case's image as a float32 TIFF under ``directory``, rendered on first use.

    Rendering is not part of any timing: both programs start from the file.
    """
    # the key changes with the recipe and with the renderer's code, so a stale image is never reused
    key = hashlib.sha1((repr(case.synthetic) + inspect.getsource(synthetic)).encode()).hexdigest()[:10]
    path = Path(directory) / f"{case.name}-{key}.tif"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        image, _ = render(case.synthetic)
        write_image(path, image.astype(np.float32))
    return path


def ring_tth_rad(case: BenchCase) -> np.ndarray:
    """2θ of every ring of the case's calibrant, pyFAI's ring order (index = ring - 1)."""
    import pyFAI.calibrant

    cal = pyFAI.calibrant.get_calibrant(case.calibrant)
    cal.wavelength = case.wavelength_m
    return np.array([t for t in cal.get_2th() if t is not None], dtype=float)


def simulated_clicks(case: BenchCase, mask: np.ndarray | None = None) -> list[tuple[int, int, int]]:
    """Where a person clicks: (row, col, 1-based ring) near the true rings 1-4.

    For each ring, the visible unmasked pixels on it (from the true geometry) are ordered by
    azimuth and clicked at evenly spaced quantiles, each click landing a pixel or two off the
    ring. Seeded from the case so every run clicks the same places.
    """
    det = case.detector()
    ai = case.truth.to_pyfai(det)
    tth = ai.center_array(det.shape, unit="2th_rad", scale=False)
    chi = ai.center_array(det.shape, unit="chi_rad", scale=False)
    pixel_rad = det.pixel1 / case.truth.dist
    bad = np.zeros(det.shape, bool) if det.mask is None else np.asarray(det.mask) != 0
    if mask is not None:
        bad |= mask
    rings = ring_tth_rad(case)
    rng = np.random.default_rng(1000 + case.synthetic.seed)
    clicks: list[tuple[int, int, int]] = []
    j = case.click_jitter_px
    for ring in case.click_rings:
        rows, cols = np.nonzero((np.abs(tth - rings[ring - 1]) < 0.5 * pixel_rad) & ~bad)
        if rows.size == 0:
            continue
        order = np.argsort(chi[rows, cols])
        for q in (np.arange(case.clicks_per_ring) + 0.5) / case.clicks_per_ring:
            k = order[int(q * (order.size - 1))]
            r = int(np.clip(rows[k] + rng.integers(-j, j + 1), 0, det.shape[0] - 1))
            c = int(np.clip(cols[k] + rng.integers(-j, j + 1), 0, det.shape[1] - 1))
            clicks.append((r, c, ring))
    return clicks


def person_review(case: BenchCase):
    """The person at the screen: undo a click whose snapped points visibly miss the ring.

    A group is kept when its median distance from the true ring is under one pixel (what a person
    sees at a glance); Massif can grow a click on a faint ring into a blob of background peaks.
    """
    det = case.detector()
    ai = case.truth.to_pyfai(det)
    rings = ring_tth_rad(case)
    pixel_rad = det.pixel1 / case.truth.dist

    def keep(points: np.ndarray, ring: int) -> bool:
        off = ai.tth(points[:, 0], points[:, 1]) - rings[ring - 1]
        return bool(np.median(np.abs(off)) < pixel_rad)

    return keep
