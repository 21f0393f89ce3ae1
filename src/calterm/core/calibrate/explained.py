"""Does the geometry explain the rings in the image? A check for the verdict.

A wrong geometry can fit a handful of points on one or two arcs very well (a ring fits many
geometries), and then predicts only the rings it fitted. The image knows better: its azimuthal
profile, taken with the fitted geometry, shows every ring that is there. Strong peaks of that profile
that fall on no calibrant ring mean the geometry does not describe the image.

The converse catches a calibrant whose rings are a superset of the sample's: CeO2 and Si share a
lattice within 0.4 % and most rings, so CeO2's rings fit a Si image with a residual near the noise
and a distance 0.4 % off, yet CeO2's (200) ring, between two strong ones, is simply not there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import ndimage

from calterm.core.common.detectors import mean_pixel_m
from calterm.core.common.geometry import PoniGeometry, tth_at

SAMPLE_PIXELS = 250_000  # a regular subset is plenty for a profile and keeps this at ~30 ms
STRONG_PEAKS = 10  # the strongest profile peaks that must be explained
PEAK_Z = 8.0  # a peak counts when it rises this many robust σ above the profile's background
# Ring 2 or 3 under a tenth of the weaker of its two neighbours is absent. Real calibrants' second
# and third rings are never that weak between two present ones (CeO2's (200) is 30 % of (111),
# measured 27 % on the lab CCD image; rutile's (200) 8 % sits between 50 % and 25 %); the Si image
# read as CeO2: 2-3 %. Ring 4 is not checked: corundum's (006), 2 % between 21 % and 66 %, is real.
ABSENT_RINGS = 3  # rings 2..ABSENT_RINGS are checked, each bracketed by its neighbours
ABSENT_RATIO = 0.1


@dataclass(frozen=True)
class TthProfile:
    """The image's azimuthal profile at a geometry, one bin per pixel of 2θ near the beam; ``z`` is
    background-free and in robust σ. The ring-label and calibrant-identity checks read it too, so
    it is computed once per verdict."""

    centres: np.ndarray  # 2θ (rad) of each bin
    z: np.ndarray
    good: np.ndarray  # bins with enough valid pixels to count
    step: float  # bin width (rad)

    def height(self, tth: float) -> float:
        """The profile's peak height (σ) within 2 bins of ``tth``; NaN off the profile or across a gap."""
        i = int(np.floor((tth - self.centres[0]) / self.step + 0.5))
        lo, hi = max(0, i - 2), min(self.z.size, i + 3)
        if lo >= hi or not self.good[lo:hi].all():
            return np.nan
        return float(self.z[lo:hi].max())

    def heights(self, tth: np.ndarray) -> np.ndarray:
        """:meth:`height` at many angles at once (NaN off the profile or across a gap)."""
        i = np.floor((np.asarray(tth, float) - self.centres[0]) / self.step + 0.5).astype(np.intp)
        inside = (i >= 2) & (i < self.z.size - 2)
        top, covered = self._windows
        j = np.clip(i, 0, self.z.size - 1)
        return np.where(inside & covered[j], top[j], np.nan)

    @cached_property
    def _windows(self) -> tuple[np.ndarray, np.ndarray]:
        # the 5-bin maximum and "all 5 bins good" of every bin, computed once per profile
        top = ndimage.maximum_filter1d(self.z, 5, mode="nearest")
        covered = ndimage.minimum_filter1d(self.good.astype(np.int8), 5, mode="nearest") > 0
        return top, covered

    def peaks(self, limit: int | None = STRONG_PEAKS) -> tuple[np.ndarray, np.ndarray]:
        """2θ (rad) and height (σ) of the strongest profile peaks, strongest first."""
        z = self.z
        is_peak = (z > PEAK_Z) & (z == ndimage.maximum_filter1d(z, 7)) & self.good
        idx = np.nonzero(is_peak)[0]
        idx = idx[np.argsort(z[idx])[::-1]][:limit]
        return self.centres[idx], z[idx]


@dataclass(frozen=True)
class Explanation:
    peaks: int  # strong peaks in the profile
    unexplained: int  # of those, how many sit on no calibrant ring
    explained_fraction: float  # of the strong peaks' summed height, the part on calibrant rings
    absent: tuple[int, ...] = ()  # calibrant rings (1-based) between two strong rings, with nothing there
    profile: TthProfile | None = field(default=None, repr=False, compare=False)


def tth_profile(data: np.ndarray, valid: np.ndarray, geometry: PoniGeometry, detector) -> TthProfile | None:
    """The image's background-free profile in 2θ at ``geometry`` (None: too few valid pixels)."""
    k = max(1, int(np.sqrt(valid.size / SAMPLE_PIXELS)))  # every k-th pixel each way
    rows, cols = np.nonzero(valid[::k, ::k])
    rows, cols = rows * k, cols * k
    values = data[rows, cols]
    values = np.minimum(values, np.percentile(values, 99.9))
    tth = tth_at(geometry.to_pyfai(detector), rows, cols, geometry.as_vector()[:6])
    step = mean_pixel_m(detector) / geometry.dist  # one pixel, in 2θ, near the beam
    finite = np.isfinite(tth)
    if not (np.isfinite(step) and step > 0) or finite.sum() < 20:
        return None  # a runaway fit (negative or infinite distance): no profile to judge it by
    tth, values = tth[finite], values[finite]
    idx = ((tth - tth.min()) / step).astype(np.intp)
    count = np.bincount(idx)
    total = np.bincount(idx, weights=values)
    good = count >= 5
    if good.sum() < 20:
        return None
    centres = tth.min() + (np.arange(count.size) + 0.5) * step
    profile = np.interp(centres, centres[good], total[good] / count[good])
    background = ndimage.percentile_filter(profile, 20, size=31, mode="nearest")
    excess = profile - background
    noise = 1.4826 * np.median(np.abs(excess[good] - np.median(excess[good]))) + 1e-12
    return TthProfile(centres, excess / noise, good, step)


def explain(data: np.ndarray, valid: np.ndarray, geometry: PoniGeometry, detector, tth_rad: np.ndarray) -> Explanation:
    """Count the strong ring peaks of the image's profile that no calibrant ring explains."""
    profile = tth_profile(data, valid, geometry, detector)
    if profile is None:
        return Explanation(0, 0, 1.0)
    centres, z, good, step = profile.centres, profile.z, profile.good, profile.step
    is_peak = (z > PEAK_Z) & (z == ndimage.maximum_filter1d(z, 7)) & good
    peaks = np.nonzero(is_peak)[0]
    peaks = peaks[np.argsort(z[peaks])[::-1]][:STRONG_PEAKS]
    absent = _absent_rings(profile, tth_rad)
    if peaks.size == 0:
        return Explanation(0, 0, 1.0, absent, profile)
    # a peak is explained when a calibrant ring lies within 3 px (in 2θ) of it; real images also
    # show a few others (Kβ, a second phase, the beam-stop edge), hence a height-weighted fraction
    offsets = np.abs(centres[peaks][:, None] - tth_rad[None, :])
    nearest = np.argmin(offsets, axis=1)
    distance = offsets[np.arange(peaks.size), nearest]
    # within 3 px, and within a fifth of the spacing to the next ring where rings crowd (else any
    # peak would land near some ring of a dense calibrant)
    spacing = np.array([np.min(np.abs(np.delete(tth_rad, k) - tth_rad[k])) if tth_rad.size > 1 else np.inf
                        for k in nearest])
    unexplained = distance > np.minimum(3 * step, 0.2 * spacing)
    return Explanation(int(peaks.size), int(unexplained.sum()), float(1 - z[peaks][unexplained].sum() / z[peaks].sum()),
                       absent, profile)


def _absent_rings(profile: TthProfile, tth_rad: np.ndarray) -> tuple[int, ...]:
    """Rings among the first few whose profile height is under ABSENT_RATIO of both neighbours'.

    Only rings with a strong ring on each side count: the innermost ring may hide behind the beam
    stop, and outer ones fade or leave the detector, but a ring between two present ones cannot.
    """
    heights = [profile.height(t) for t in tth_rad[: ABSENT_RINGS + 1]]
    absent = []
    for n in range(1, min(ABSENT_RINGS, len(heights) - 1)):
        below, here, above = heights[n - 1], heights[n], heights[n + 1]
        if not np.isfinite([below, here, above]).all():
            continue  # a ring off the profile or across a gap: no evidence either way
        if min(below, above) > PEAK_Z and here < ABSENT_RATIO * min(below, above):
            absent.append(n + 1)
    return tuple(absent)
