"""Beam centre from ring symmetry, with no ring labels.

Rings are (nearly) concentric, so the radial profile about the true centre is sharpest. We score a
trial centre by the high-frequency energy of its radial profile (profile minus a smoothed copy)
and search coarse-to-fine on binned images: a grid on 8x8 bins, a finer grid on 4x4 bins, then
Nelder-Mead on 2x2 bins. Only valid pixels count, so arcs from an off-detector centre work too.
pyFAI has no label-free centre finder for powder rings; this is why this module exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from calterm.core.common.jobs import JobContext


@dataclass(frozen=True)
class Binned:
    """A binned image: mean of valid pixels per bin, with the fraction of valid pixels."""

    data: np.ndarray
    weight: np.ndarray  # number of valid full-resolution pixels in each bin
    factor: int

    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution (row, col) of each bin's centre, pixel centres at integers."""
        f = self.factor
        rows = np.arange(self.data.shape[0]) * f + (f - 1) / 2
        cols = np.arange(self.data.shape[1]) * f + (f - 1) / 2
        return rows, cols


def bin_image(data: np.ndarray, valid: np.ndarray, factor: int) -> Binned:
    d = np.where(valid, data, 0.0)
    total = _strided_sum(d, factor)
    count = _strided_sum(valid.view(np.uint8).astype(np.uint16), factor).astype(float)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return Binned(mean, count, factor)


def _strided_sum(a: np.ndarray, factor: int) -> np.ndarray:
    """Sum of each factor x factor block (a partial last block is dropped), rows then columns, by
    adding strided views: 5x faster on 4 Mpixels than ``reshape(...).sum(axis=(1, 3))``, whose
    reduction runs across strides."""
    rows, cols = a.shape[0] // factor * factor, a.shape[1] // factor * factor
    by_rows = sum(a[i:rows:factor, :cols] for i in range(1, factor)) + a[0:rows:factor, :cols]
    return sum(by_rows[:, j:cols:factor] for j in range(1, factor)) + by_rows[:, 0:cols:factor]


class ProfileScorer:
    """Sharpness of the radial profile about a trial centre, on one binned image."""

    def __init__(self, binned: Binned, min_fraction: float = 0.75,
                 limit: tuple[float, float, float] | None = None) -> None:
        keep = binned.weight >= min_fraction * binned.factor**2
        r, c = binned.coords()
        rr, cc = np.meshgrid(r, c, indexing="ij")
        if limit is not None:  # (x, y, radius): only bins this close to (x, y)
            keep &= np.hypot(cc - limit[0], rr - limit[1]) <= limit[2]
        # float32: half the memory traffic of each of the ~1000 profile evaluations, and far more
        # precision than bins a pixel wide need
        self.rows = rr[keep].astype(np.float32)
        self.cols = cc[keep].astype(np.float32)
        self.values = binned.data[keep]
        self.factor = binned.factor
        self.bin_width = float(binned.factor)  # radial bins as wide as one binned pixel

    def profile(self, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
        r = np.hypot(self.cols - np.float32(x), self.rows - np.float32(y))
        r *= np.float32(1.0 / self.bin_width)
        idx = r.astype(np.intp)
        count = np.bincount(idx)
        total = np.bincount(idx, weights=self.values)
        return total, count

    def score(self, x: float, y: float) -> float:
        total, count = self.profile(x, y)
        good = count > 0
        prof = np.zeros_like(total)
        prof[good] = total[good] / count[good]
        # fill empty bins by interpolation so smoothing sees no artificial dips
        if not good.all():
            idx = np.arange(prof.size)
            prof = np.interp(idx, idx[good], prof[good])
        smooth = ndimage.uniform_filter1d(prof, 9, mode="nearest")
        hf = prof - smooth
        return float(np.sum(count * hf**2) / max(np.sum(count), 1))


COARSE_STEP_PX = 6.0  # grid step on 8x8 bins: under one bin, so the sharp optimum is not stepped over
CANDIDATES = 5  # coarse-grid optima refined on finer bins
# Whole-image candidates scoring under this fraction of the best are noise, not rings: measured 0.09-0.10
# on the noisy PerkinElmer bench image (each then cost a 4 s failed fit), while the corner images'
# rival centres along a ridge score 0.8-1.0 and a clear centre's neighbours 0.2-0.3.
MIN_CANDIDATE_SCORE = 0.2
GLOBAL_REACH = 0.6  # with no typed centre, look up to 10 % of the image size beyond its edges


def _grid_search(scorer: ProfileScorer, x0: float, y0: float, half: float, step: float,
                 ctx: JobContext, stage: str) -> tuple[float, float, float]:
    return _grid_candidates(scorer, x0, y0, half, step, ctx, stage, 1)[0]


def _grid_candidates(scorer: ProfileScorer, x0: float, y0: float, half: float, step: float,
                     ctx: JobContext, stage: str, count: int) -> list[tuple[float, float, float]]:
    """The ``count`` best grid points (x, y, score), at least two steps apart, best first."""
    offsets = np.arange(-half, half + step / 2, step)
    scores = np.empty((offsets.size, offsets.size))
    for i, dy in enumerate(offsets):
        ctx.report(stage, i, len(offsets))
        for j, dx in enumerate(offsets):
            scores[i, j] = scorer.score(x0 + dx, y0 + dy)
    found: list[tuple[float, float, float]] = []
    for k in np.argsort(scores, axis=None)[::-1]:
        i, j = np.unravel_index(k, scores.shape)
        x, y = x0 + offsets[j], y0 + offsets[i]
        if all(np.hypot(x - fx, y - fy) >= 2 * step for fx, fy, _ in found):
            found.append((x, y, float(scores[i, j])))
        if len(found) == count:
            break
    return found


def clip_for_search(data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Clip hot pixels (99.9th percentile of valid pixels) so they cannot dominate the profile.

    The percentile comes from every 3rd row and column: a clip level needs no more, and a full
    percentile of 4 Mpixels cost 40 ms of each search.
    """
    sample = data[::3, ::3][valid[::3, ::3]]
    if sample.size < 1000:
        sample = data[valid]
    top = np.percentile(sample, 99.9) if sample.size else 0.0
    return np.minimum(data, top)


def find_centre(
    data: np.ndarray,
    valid: np.ndarray,
    start_xy: tuple[float, float] | None = None,
    search_px: float | None = None,
    max_radius_px: float | None = None,
    ctx: JobContext | None = None,
) -> tuple[float, float]:
    """The centre (x = column, y = row) that makes the radial profile sharpest.

    ``search_px`` is how far from ``start_xy`` to look (default 60 px from a typed start; the whole
    image plus a margin when no start is given). ``max_radius_px`` limits the score to pixels near
    the start: on a tilted detector outer rings are ellipses whose centres drift away from the beam
    (tens of pixels at 40° 2θ and 3° tilt), so only the inner rings say where the beam is.
    """
    ctx = ctx or JobContext()
    clipped = clip_for_search(data, valid)
    ny, nx = data.shape
    b2 = bin_image(clipped, valid, 2)
    b4 = rebin(b2, 2)  # cascade: bins of bins, one pass over the full image
    b8 = rebin(b4, 2)
    if start_xy is None:
        x, y = centre_candidates(data, valid, ctx, count=1)[0]
        search_px = 24.0
    else:
        x, y = start_xy
    half = 60.0 if search_px is None else float(search_px)
    limit = None if max_radius_px is None else (x, y, max_radius_px + half)
    # Coarse grid on 16x16 bins keeps a few candidates (a quarter arc scores nearly as well all
    # along a ridge); each is refined on 8x8 bins and the best goes on to 4x4 bins.
    candidates = _grid_candidates(ProfileScorer(rebin(b8, 2), limit=limit), x, y, half, 2 * COARSE_STEP_PX, ctx,
                                  "centre: coarse grid", CANDIDATES)
    s8 = ProfileScorer(b8, limit=limit)
    refined = [_grid_search(s8, cx, cy, COARSE_STEP_PX, COARSE_STEP_PX / 2, ctx, "centre: candidates")
               for cx, cy, _ in candidates]
    x, y, _ = max(refined, key=lambda t: t[2])
    x, y, _ = _grid_search(ProfileScorer(b4, limit=limit), x, y, COARSE_STEP_PX * 0.75, 1.5, ctx, "centre: fine grid")
    # The local optimum on 2x2 bins, from the inner rings only and about the centre found so far:
    # a tilt moves each ring's centre by ~r² tan(tilt)/D, so outer rings pull the symmetric centre
    # off the beam (40 px on the tilted corner Eiger benchmark with rings 1-8, 8 px with rings 1-2),
    # and a centre that far off lets neighbouring rings take each other's labels in the first fit.
    if limit is not None:
        limit = (x, y, max_radius_px)
    fine = ProfileScorer(b2 if limit is not None else b4, limit=limit)
    ctx.report("centre: local optimum")
    # The fine grid left us within ±0.75 px: a simplex that size, stopped once the score moves by
    # less than 0.1 % (half the evaluations of an absolute tolerance, same centre within 0.2 px).
    fatol = 1e-3 * fine.score(x, y)
    res = optimize.minimize(lambda p: -fine.score(p[0], p[1]), [x, y], method="Nelder-Mead",
                            options={"xatol": 0.1, "fatol": fatol,
                                     "initial_simplex": [[x, y], [x + 1.5, y], [x, y + 1.5]]})
    return float(res.x[0]), float(res.x[1])


def centre_candidates(data: np.ndarray, valid: np.ndarray, ctx: JobContext | None = None,
                      count: int = 3) -> list[tuple[float, float]]:
    """Centres worth trying when the user typed none: a grid over the image and a margin beyond
    its edges (beams off the detector) on coarse bins (about 64 across the image), its best
    optima refined on bins half as large."""
    ctx = ctx or JobContext()
    size = max(data.shape)
    factor = int(np.clip(2 ** round(np.log2(size / 64)), 4, 32))
    fine = bin_image(clip_for_search(data, valid), valid, factor // 2)
    coarse = rebin(fine, 2)
    ny, nx = data.shape
    step = 0.75 * factor  # under one coarse bin
    best = _grid_candidates(ProfileScorer(coarse), nx / 2, ny / 2, GLOBAL_REACH * size, step, ctx, "centre: global search",
                            2 * count + 2)
    s_fine = ProfileScorer(fine)
    refined = sorted((_grid_search(s_fine, x, y, step, step / 3, ctx, "centre: global candidates")
                      for x, y, _ in best), key=lambda t: -t[2])
    found: list[tuple[float, float]] = []
    for x, y, score in refined:
        if score < MIN_CANDIDATE_SCORE * refined[0][2]:
            break  # sorted: the rest are weaker still
        if all(np.hypot(x - fx, y - fy) > step for fx, fy in found):
            found.append((x, y))
    return found[:count]


def rebin(b: Binned, factor: int) -> Binned:
    """Bin a binned image further, weighting each bin by its valid-pixel count."""
    total = _sum_bins(b.data * b.weight, factor)
    weight = _sum_bins(b.weight, factor)
    mean = np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)
    return Binned(mean, weight, b.factor * factor)


def _sum_bins(a: np.ndarray, factor: int) -> np.ndarray:
    return _strided_sum(a, factor)
