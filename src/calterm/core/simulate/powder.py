"""Calibration images rendered by pyFAI at a known geometry: the demo, the tests' ground truth,
and the benchmark cases.

pyFAI's ``Calibrant.fake_calibration_image`` draws the rings; we add what real detectors add
(background falling off with angle, Poisson noise, hot and dead pixels, module gaps as -1) with a
seeded generator so every image is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.core.common.geometry import PoniGeometry


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
    resolution_deg: float = 0.06  # ring FWHM in degrees (1-2 px at usual distances)
    noise: bool = True
    hot_pixels: int = 0
    dead_pixels: int = 0
    seed: int = 0
    ring_heights: tuple[float, ...] = ()  # relative height of rings 1, 2, ... (1.0 beyond the tuple)
    # background rise across the image along x (columns) and y (rows), as a fraction of its mean: (1, 0)
    # goes from 0.5x at the left edge to 1.5x at the right (scatter from air, a window, a beam stop)
    background_ramp: tuple[float, float] = (0.0, 0.0)
    # spotty rings (few crystallites): ring intensity varies along each ring in 1° patches with this
    # coefficient of variation (0 = smooth rings; 1 = as many dark patches as bright ones)
    spottiness: float = 0.0


def make_detector(case: SyntheticCase):
    import pyFAI.detectors

    if case.detector:
        det = pyFAI.detectors.detector_factory(case.detector)
    else:
        p = case.pixel_size_um * 1e-6
        det = pyFAI.detectors.Detector(pixel1=p, pixel2=p, max_shape=case.shape)
    if case.binning > 1:
        from calterm.core.common.detectors import binned

        current = tuple(getattr(det, "binning", (1, 1)) or (1, 1))
        det = binned(det, (current[0] * case.binning, current[1] * case.binning))
    return det


def render(case: SyntheticCase, detector=None) -> tuple[np.ndarray, object]:
    """The image (float64, gaps = -1) and the pyFAI detector it was rendered on.

    pyFAI gives each pixel's 2θ at the geometry and the calibrant's ring angles; the rings are
    Gaussians of ``resolution_deg`` FWHM drawn from a finely sampled 1D pattern. (pyFAI's
    ``fake_calibration_image`` samples its 1D pattern at ~0.03° steps, coarser than sharp rings,
    which shifts each ring by up to half a step: too crude for ground truth at 1e-4°.)
    """
    import pyFAI.calibrant

    # ``detector``: a pyFAI detector to render on instead (one with a spline or a sensor: distortion, parallax)
    det = make_detector(case) if detector is None else detector
    ai = case.geometry.to_pyfai(det)
    cal = pyFAI.calibrant.get_calibrant(case.calibrant)
    cal.wavelength = case.geometry.wavelength
    tth = ai.center_array(det.shape, unit="2th_rad")
    chi = ai.center_array(det.shape, unit="chi_rad")
    rings = np.asarray([t for t in cal.get_2th() if t is not None and np.isfinite(t)], dtype=float)
    sigma = np.radians(case.resolution_deg) / 2.3548
    grid = np.arange(max(tth.min() - 5 * sigma, 0), tth.max() + 5 * sigma, sigma / 10)
    profile = np.zeros_like(grid)
    heights = np.ones(rings.size)
    heights[: len(case.ring_heights)] = case.ring_heights[: rings.size]
    inside = (rings > grid[0] - 5 * sigma) & (rings < grid[-1] + 5 * sigma)
    for t, h in zip(rings[inside], heights[inside], strict=True):
        lo, hi = np.searchsorted(grid, [t - 6 * sigma, t + 6 * sigma])
        profile[lo:hi] += h * np.exp(-0.5 * ((grid[lo:hi] - t) / sigma) ** 2)
    texture = 1.0 + 0.25 * np.cos(2 * chi + 0.3)  # mild preferred orientation, as real powders show
    ring_image = case.peak_intensity * texture * np.interp(tth, grid, profile)
    if case.spottiness > 0:
        ring_image = ring_image * _spots(case, tth, chi, rings)
    background = case.background * (1.0 + 2.0 * np.exp(-tth / 0.15))
    if any(case.background_ramp):
        v, u = np.mgrid[0 : tth.shape[0], 0 : tth.shape[1]]
        ramp = 1.0 + case.background_ramp[0] * (u / max(tth.shape[1] - 1, 1) - 0.5) \
            + case.background_ramp[1] * (v / max(tth.shape[0] - 1, 1) - 0.5)
        background = background * np.maximum(ramp, 0.05)
    expected = ring_image + background
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


def _spots(case: SyntheticCase, tth: np.ndarray, chi: np.ndarray, rings: np.ndarray) -> np.ndarray:
    """Per-pixel factor of a spotty ring: a gamma-distributed weight per (ring, 1° of azimuth), from
    its own generator so a smooth case's noise is the same with or without this code."""
    rng = np.random.default_rng(10_000 + case.seed)
    k = 1.0 / case.spottiness**2
    weights = rng.gamma(k, 1.0 / k, size=(rings.size + 1, 360))
    nearest = np.searchsorted(0.5 * (rings[1:] + rings[:-1]), tth) if rings.size > 1 else np.zeros(tth.shape, int)
    patch = (np.floor(np.degrees(chi) + 180.0).astype(int)) % 360
    return weights[nearest, patch]


def demo_case() -> SyntheticCase:
    """The built-in demo: LaB6 at 0.3344 Å on a Pilatus1M, slightly tilted."""
    geometry = PoniGeometry(dist=0.18, poni1=0.0912, poni2=0.0835, rot1=0.012, rot2=-0.008, rot3=0.0,
                            wavelength=0.3344e-10)
    return SyntheticCase("Pilatus1M", "LaB6", geometry, peak_intensity=3000.0, seed=7)
