"""Calibration images rendered by pyFAI at a known geometry: the demo, the tests' ground truth,
and the benchmark cases.

pyFAI's ``Calibrant.fake_calibration_image`` draws the rings; we add what real detectors add
(background falling off with angle, Poisson noise, hot and dead pixels, module gaps as -1) with a
seeded generator so every image is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.core.geometry import PoniGeometry


@dataclass(frozen=True)
class SyntheticCase:
    """Recipe for one synthetic calibration image."""

    detector: str | None  # pyFAI registry name; None = generic flat panel
    calibrant: str
    geometry: PoniGeometry
    shape: tuple[int, int] | None = None  # generic detector only
    pixel_size_um: float = 100.0  # generic detector only
    binning: int = 1
    peak_intensity: float = 2000.0
    background: float = 20.0
    resolution_deg: float = 0.02  # ring width (pyFAI's Caglioti W term, in degrees)
    noise: bool = True
    hot_pixels: int = 0
    dead_pixels: int = 0
    seed: int = 0


def make_detector(case: SyntheticCase):
    import pyFAI.detectors

    if case.detector:
        det = pyFAI.detectors.detector_factory(case.detector)
    else:
        p = case.pixel_size_um * 1e-6
        det = pyFAI.detectors.Detector(pixel1=p, pixel2=p, max_shape=case.shape)
    if case.binning > 1:
        det.set_binning((case.binning, case.binning))
    return det


def render(case: SyntheticCase) -> tuple[np.ndarray, object]:
    """The image (float64, gaps = -1) and the pyFAI detector it was rendered on."""
    import pyFAI.calibrant

    det = make_detector(case)
    ai = case.geometry.to_pyfai(det)
    cal = pyFAI.calibrant.get_calibrant(case.calibrant)
    cal.wavelength = case.geometry.wavelength
    rings = cal.fake_calibration_image(ai, shape=det.shape, Imax=case.peak_intensity, Imin=0.0,
                                       resolution=case.resolution_deg)
    tth = ai.twoThetaArray(det.shape)
    background = case.background * (1.0 + 2.0 * np.exp(-tth / 0.15))
    expected = np.asarray(rings, dtype=float) + background
    rng = np.random.default_rng(case.seed)
    image = rng.poisson(expected).astype(float) if case.noise else expected
    n = image.size
    if case.hot_pixels:
        idx = rng.choice(n, case.hot_pixels, replace=False)
        image.flat[idx] = rng.uniform(10, 100, case.hot_pixels) * case.peak_intensity
    if case.dead_pixels:
        idx = rng.choice(n, case.dead_pixels, replace=False)
        image.flat[idx] = 0.0
    if det.mask is not None:
        image[np.asarray(det.mask) != 0] = -1.0
    return image, det


def demo_case() -> SyntheticCase:
    """The built-in demo: LaB6 at 0.3344 Å on a Pilatus1M, slightly tilted."""
    geometry = PoniGeometry(dist=0.18, poni1=0.0912, poni2=0.0835, rot1=0.012, rot2=-0.008, rot3=0.0,
                            wavelength=0.3344e-10)
    return SyntheticCase("Pilatus1M", "LaB6", geometry, peak_intensity=3000.0, seed=7)
