"""Distance and ring labels from the radial profile: match the calibrant's comb of radii.

For a flat detector at distance D, ring n sits at r_n = D·tan(2θ_n); the ratios r_n/r_1 do not
depend on D. We scan D over a generous range and score how much of the background-subtracted,
noise-normalised profile falls on the predicted radii. The best D gives both the distance and the
ring numbers, with no ±¼-spacing window around a rough prediction (where pyFAI's automatic
extraction mislabels rings). Missing rings (extinctions, gaps) cost little; a wrong calibrant or
wavelength shows as no convincing peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from calterm.errors import ComputationError


@dataclass(frozen=True)
class RadialProfile:
    """Mean intensity per 1-px radial bin about a centre; ``z`` is background-free and noise-normalised."""

    radius_px: np.ndarray
    mean: np.ndarray
    count: np.ndarray
    z: np.ndarray


@dataclass(frozen=True)
class CombMatch:
    """One candidate distance with its score (higher is better) and the rings it predicts."""

    distance_m: float
    score: float
    n_rings: int


def radial_profile(data: np.ndarray, valid: np.ndarray, centre_xy: tuple[float, float], step: int = 1) -> RadialProfile:
    """Profile about ``centre_xy`` from every ``step``-th pixel (valid pixels only)."""
    rows, cols = np.nonzero(valid[::step, ::step])
    values = data[::step, ::step][rows, cols]
    top = np.percentile(values, 99.9)
    values = np.minimum(values, top)  # hot pixels must not make rings
    r = np.hypot(cols * step - centre_xy[0], rows * step - centre_xy[1])
    idx = r.astype(np.int64)
    count = np.bincount(idx).astype(float)
    total = np.bincount(idx, weights=values)
    good = count >= 3
    mean = np.zeros_like(total)
    mean[good] = total[good] / count[good]
    radius = np.arange(total.size) + 0.5
    if good.sum() < 20:
        raise ComputationError("too few valid pixels for a radial profile")
    filled = np.interp(radius, radius[good], mean[good])
    background = ndimage.percentile_filter(filled, 20, size=41, mode="nearest")
    background = ndimage.uniform_filter1d(background, 41, mode="nearest")
    excess = filled - background
    noise = 1.4826 * np.median(np.abs(excess[good] - np.median(excess[good])))
    z = np.where(good, excess / max(noise, 1e-12), 0.0)
    z = ndimage.gaussian_filter1d(z, 1.5)  # rings are smeared by centre error and tilt
    return RadialProfile(radius, mean, count, z)


def match_comb(
    profile: RadialProfile,
    tth_rad: np.ndarray,
    pixel_m: float,
    distance_range_m: tuple[float, float],
    n_best: int = 3,
) -> list[CombMatch]:
    """The best distances (distinct peaks of the comb score), best first."""
    usable = profile.count >= 3
    r_lo = float(profile.radius_px[usable][0])
    r_hi = float(profile.radius_px[usable][-1])
    tan = np.tan(tth_rad[(tth_rad > 0) & (tth_rad < np.pi / 2 - 1e-3)])
    if tan.size == 0:
        raise ComputationError("the calibrant has no ring below 90° at this wavelength")
    d_lo, d_hi = distance_range_m
    step = 0.3 / max(r_hi, 10.0)  # outermost ring moves < 0.3 px between trial distances
    distances = np.exp(np.arange(np.log(d_lo), np.log(d_hi), step))
    radii = distances[:, None] * tan[None, :] / pixel_m  # (n_distances, n_rings)
    inside = (radii > r_lo + 3) & (radii < r_hi - 3)
    z = np.interp(radii, profile.radius_px, profile.z)
    z_mean = float(np.mean(profile.z[usable]))
    n = inside.sum(axis=1)
    total = np.where(inside, z - z_mean, 0.0).sum(axis=1)
    score = np.where(n >= 2, total / np.sqrt(np.maximum(n, 1)), -np.inf)
    if not np.isfinite(score).any():
        raise ComputationError("no distance in the searched range puts two rings on the image")
    order = _distinct_maxima(score, separation=max(1, int(0.02 / step)), count=n_best)
    return [CombMatch(float(distances[i]), float(score[i]), int(n[i])) for i in order]


def _distinct_maxima(score: np.ndarray, separation: int, count: int) -> list[int]:
    """Indices of the ``count`` highest maxima at least ``separation`` samples apart, best first.

    (scipy.signal.find_peaks would do, but importing scipy.signal costs ~0.6 s of every start.)
    """
    order = np.argsort(np.where(np.isfinite(score), score, -np.inf))[::-1]
    chosen: list[int] = []
    for i in order:
        if not np.isfinite(score[i]) or len(chosen) == count:
            break
        if all(abs(int(i) - j) >= separation for j in chosen):
            chosen.append(int(i))
    return chosen


def inner_rings_radius(profile: RadialProfile, rings: int, min_z: float = 8.0, fraction: float = 0.2) -> float | None:
    """Radius (px) of the ``rings``-th strong peak of the profile counted from the centre, or None.

    With no distance known, this is where the first rings are: the part of the image to take the
    centre from on a tilted detector. A peak is strong when it rises above ``fraction`` of the
    strongest and ``min_z`` σ.
    """
    z = profile.z
    is_peak = (z == ndimage.maximum_filter1d(z, 9)) & (z > max(min_z, fraction * float(z.max())))
    radii = profile.radius_px[np.nonzero(is_peak)[0]]
    return float(radii[rings - 1]) if radii.size >= rings else None
