"""Single-ring (SAXS / fibre) images rendered by pyFAI at a known flat geometry: test and benchmark truth.

pyFAI draws the ring(s) from the d-spacings at an untilted geometry, so the ring is an exact
circle whose centre and radius follow from the geometry (``r = D tan 2θ / pixel``). On top we
add what makes real single-ring images hard: intensity varying around the ring (texture, fibre
orientation), diffuse scattering falling off from the beam, a beam stop with its arm, and
Poisson noise — all seeded, so every image is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SingleRingCase:
    """Recipe for one image; ``center`` in calterm pixels (x = column, y = row), may lie outside."""

    shape: tuple[int, int] = (512, 512)
    center: tuple[float, float] = (255.3, 261.7)
    d_spacings_nm: tuple[float, ...] = (5.838,)
    wavelength_A: float = 1.0
    distance_mm: float = 1000.0
    pixel_size_um: float = 100.0
    peak_intensity: float = 400.0
    resolution_deg: float = 0.02  # ring FWHM in 2θ
    modulation: float = 0.0  # ring intensity x (1 + m cos 2φ)
    diffuse: float = 0.0  # diffuse scattering at the beam (counts), decaying over diffuse_px
    diffuse_px: float = 60.0
    background: float = 10.0
    beamstop_px: float = 0.0  # radius of a round beam stop at the centre (0 = none), with an arm
    noise: bool = True
    seed: int = 0

    def radii_px(self) -> list[float]:
        """Exact ring radii in pixels (Bragg: 2θ = 2 asin(λ/2d), r = D tan 2θ)."""
        out = []
        for d in self.d_spacings_nm:
            tth = 2 * math.asin(self.wavelength_A / (20.0 * d))
            out.append(self.distance_mm * 1e3 * math.tan(tth) / self.pixel_size_um)
        return out


def render_single_ring(case: SingleRingCase) -> np.ndarray:
    """The image as float64 (counts)."""
    import pyFAI.calibrant
    import pyFAI.detectors
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    p = case.pixel_size_um * 1e-6
    det = pyFAI.detectors.Detector(pixel1=p, pixel2=p, max_shape=case.shape)
    # pyFAI puts pixel i's centre at (i + 0.5) * pixel; calterm puts it at i
    ai = AzimuthalIntegrator(dist=case.distance_mm * 1e-3, poni1=(case.center[1] + 0.5) * p,
                             poni2=(case.center[0] + 0.5) * p, detector=det, wavelength=case.wavelength_A * 1e-10)
    cal = pyFAI.calibrant.Calibrant(dspacing=[d * 10.0 for d in case.d_spacings_nm],
                                    wavelength=case.wavelength_A * 1e-10)
    rings = np.asarray(cal.fake_calibration_image(ai, shape=case.shape, Imax=case.peak_intensity, Imin=0.0,
                                                  resolution=case.resolution_deg), dtype=float)
    rows, cols = np.indices(case.shape, dtype=float)
    dx, dy = cols - case.center[0], rows - case.center[1]
    dist = np.hypot(dx, dy)
    phi = np.arctan2(dy, dx)
    expected = rings * (1.0 + case.modulation * np.cos(2 * phi))
    expected += case.background + case.diffuse * np.exp(-dist / case.diffuse_px)
    if case.beamstop_px > 0:
        arm = (np.abs(dy) < case.beamstop_px / 3) & (dx > 0)  # the arm holding the stop, to the right
        expected[(dist < case.beamstop_px) | arm] *= 0.02
    rng = np.random.default_rng(case.seed)
    return rng.poisson(expected).astype(float) if case.noise else expected


def clicks_on_ring(case: SingleRingCase, n: int, *, ring: int = 0, start_deg: float = 0.0, span_deg: float = 360.0,
                   jitter_px: float = 1.5, seed: int = 0) -> np.ndarray:
    """``n`` points near the ring, spread over ``span_deg`` from ``start_deg``, like a person's clicks.

    Each is displaced radially and tangentially by up to ``jitter_px``.
    """
    rng = np.random.default_rng(seed)
    r = case.radii_px()[ring]
    step = span_deg / n if span_deg >= 360 else span_deg / max(n - 1, 1)
    ang = np.radians(start_deg + step * np.arange(n))
    rr = r + rng.uniform(-jitter_px, jitter_px, n)
    ang = ang + rng.uniform(-jitter_px, jitter_px, n) / r
    return np.column_stack([case.center[0] + rr * np.cos(ang), case.center[1] + rr * np.sin(ang)])
