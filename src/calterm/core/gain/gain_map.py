"""Gain map from amorphous scattering measured at several detector positions.

Why this method (Weng et al., J. Synchrotron Rad. 2023): an amorphous scatterer gives a smooth
radial profile, so each position's image divided by the expected profile is the gain, except
behind that position's beam stop. Several positions with different beam centres cover every
pixel several times; the median over positions removes beam-stop shadows and partial shadows.

Steps (each an improvement over the reference notebooks where they fell short):
  1. per position: polarization and solid angle from pyFAI (the geometry's own arrays);
  2. beam stop from a threshold against the profile envelope (``beamstop``), plus a mask file;
  3. radial medians at bin *centres*, empty bins skipped, positions scaled to one intensity and
     combined (``radial_profile``); beyond the top of the chosen 2θ range a weighted
     least-squares line (or low-order polynomial), the range suggested where the profile is flat;
  4. gain per position = measured / expected; combined by a median that ignores masked pixels;
     position estimates below ``beamstop_threshold`` x the median are partial shadows and dropped;
  5. iterate: profiles re-estimated from gain-corrected images until the map stops changing
     (the first pass profiles carry the gain of the pixels each ring happens to cross);
  6. uncertainty = spread across positions; damaged pixels and the masked median filter
     (``damaged``).
The core promise: arrays in, arrays out; files are read and written by ``gain_files``.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from calterm.core.common.jobs import JobContext
from calterm.core.gain.beamstop import find_shadow
from calterm.core.gain.damaged import MAD_TO_SIGMA, find_damaged, masked_median, masked_median_filter
from calterm.core.gain.files import Position
from calterm.core.gain.profile import (
    BinInterpolation,
    CombinedProfile,
    ExpectedProfile,
    bin_edges,
    bin_index,
    bin_medians,
    combine_profiles,
    fit_bins,
    fit_extrapolation,
    interpolation_weights,
    suggest_range,
)
from calterm.errors import ComputationError, InputError

MIN_POSITIONS = 3
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2)  # standard error of a median / that of a mean (normal data)


@dataclass(frozen=True)
class GainOptions:
    """Parameters a user may set (CLI flags of ``calterm gain`` in brackets)."""

    polarization: float = 0.99  # [--polarization]
    bins: int | None = None  # [--bins]; default: the smaller image dimension
    tth_range: tuple[float, float] | None = None  # [--range]; default: suggested
    degree: int = 1  # [--degree] of the extrapolation polynomial
    extrapolate: str = "sparse"  # [--extrapolate] sparse | range (see radial_profile.fit_bins)
    filter_size: int = 3  # [--filter-size] odd; the detector's point-spread width
    damaged_sigma: float = 4.0  # [--damaged-sigma]
    damaged_window: int = 5  # neighbourhood of the damaged-pixel test
    beamstop_threshold: float = 0.5  # [--beamstop-threshold] fraction of the expected level
    iterations: int = 5  # [--iterations] most profile re-estimations after the first pass
    tolerance: float = 1e-3  # [--tolerance] RMS relative change of the map that ends the iteration
    mask: np.ndarray | None = field(default=None, compare=False)  # [--mask] True = excluded


@dataclass(frozen=True)
class PositionSummary:
    name: str
    scale: float
    shadow_pixels: int
    partial_shadow_pixels: int
    used_pixels: int
    tth_max_deg: float
    beam_center_px: tuple[float, float]


@dataclass
class GainResult:
    """Maps in divide form (corrected = data / map), NaN where no position measured the pixel."""

    gain: np.ndarray
    unfiltered: np.ndarray
    uncertainty: np.ndarray
    damaged: np.ndarray
    coverage: np.ndarray  # positions that measured each pixel
    profile: CombinedProfile
    expected: ExpectedProfile
    tth_range: tuple[float, float]
    range_suggested: bool
    changes: list[float]
    positions: list[PositionSummary]
    options: GainOptions

    def images(self, form: str = "divide") -> dict[str, np.ndarray]:
        """The output images in ``form`` ("divide" or "multiply"), float32; the mask as uint8."""
        if form not in ("divide", "multiply"):
            raise InputError(f"--form must be divide or multiply, not {form!r}")
        with np.errstate(divide="ignore", invalid="ignore"):
            if form == "divide":
                gain, unfiltered, unc = self.gain, self.unfiltered, self.uncertainty
            else:
                gain, unfiltered = 1.0 / self.gain, 1.0 / self.unfiltered
                unc = self.uncertainty / self.unfiltered**2
        return {"gain": gain.astype(np.float32), "unfiltered": unfiltered.astype(np.float32),
                "damaged_mask": self.damaged.astype(np.uint8), "uncertainty": unc.astype(np.float32)}

    def report(self) -> dict:
        centres, used = self.expected.curve()
        o = self.options
        return {
            "positions": [vars(p) for p in self.positions],
            "options": {"polarization": o.polarization, "bins": len(centres), "degree": o.degree,
                        "extrapolate": o.extrapolate,
                        "filter_size": o.filter_size, "damaged_sigma": o.damaged_sigma,
                        "beamstop_threshold": o.beamstop_threshold, "iterations": o.iterations},
            "tth_range_deg": list(self.tth_range),
            "range_suggested": self.range_suggested,
            "common_max_deg": self.profile.common_max_deg,
            "extrapolation_coefficients": self.expected.coefficients.tolist(),
            "extrapolated_bins": int(self.expected.fitted.sum()),
            "iteration_changes": self.changes,
            "damaged_pixels": int(self.damaged.sum()),
            "pixels_without_estimate": int(np.isnan(self.unfiltered).sum()),
            "median_uncertainty": float(np.nanmedian(self.uncertainty)),
            "profile": {"tth_deg": centres, "expected": used, "combined": self.profile.values,
                        "per_position": self.profile.per_position},
        }


@dataclass
class _Prepared:
    tth: np.ndarray
    index: np.ndarray  # 2θ bin per pixel
    corrected: np.ndarray
    use: np.ndarray
    shadow: np.ndarray
    partial: int = 0
    weights: BinInterpolation | None = None


def _prepare(positions: list[Position], detector, options: GainOptions, ctx: JobContext) -> list[_Prepared]:
    shape = positions[0].image.shape
    gaps = np.zeros(shape, bool)
    try:
        if detector.mask is not None and tuple(detector.mask.shape) == shape:
            gaps = np.asarray(detector.mask) != 0
    except RuntimeError:  # pyFAI cannot rebin some detectors' masks; gaps then come from the frames
        pass
    if options.mask is not None:
        if options.mask.shape != shape:
            raise InputError(f"mask shape {options.mask.shape} does not match the frames {shape}")
        gaps = gaps | options.mask
    ctx.report("geometry", 0, len(positions))

    def prepare(pos: Position) -> _Prepared:
        ai = pos.geometry.to_pyfai(detector)
        tth = ai.center_array(shape, unit="2th_deg")
        correction = ai.polarization(shape, factor=options.polarization) * ai.solidAngleArray(shape)
        corrected = pos.image / correction
        use = ~pos.invalid & ~gaps & np.isfinite(corrected)
        return _Prepared(tth, np.empty(0, int), corrected, use, np.zeros(shape, bool))

    return _each(prepare, positions)


def _check_overlap(positions: list[Position], prepared: list[_Prepared], detector) -> list[tuple[float, float]]:
    """The beam centres; an error when one lies in another position's shadow (overlapping stops)."""
    centres = []
    shape = prepared[0].tth.shape
    for pos in positions:
        centres.append(pos.geometry.beam_center_px(detector))
    for p, (x, y) in enumerate(centres):
        col, row = int(round(x)), int(round(y))
        if not (0 <= row < shape[0] and 0 <= col < shape[1]):
            continue
        for q, other in enumerate(prepared):
            if q != p and other.shadow[row, col]:
                raise InputError(f"beam stops overlap: the direct beam of {positions[p].name} falls in the "
                                 f"beam-stop shadow of {positions[q].name}; move the detector further between positions")
    return centres


def compute_gain_map(positions: list[Position], detector, options: GainOptions | None = None,
                     ctx: JobContext | None = None) -> GainResult:
    """The gain map from three or more positions (see the module docstring for the steps)."""
    options = options or GainOptions()
    ctx = ctx or JobContext()
    if len(positions) < MIN_POSITIONS:
        raise InputError(f"a gain map needs at least {MIN_POSITIONS} positions, got {len(positions)}")
    shape = positions[0].image.shape
    for pos in positions[1:]:
        if pos.image.shape != shape:
            raise InputError(f"{pos.name} has shape {pos.image.shape}, {positions[0].name} has {shape}")
    if not 0 < options.beamstop_threshold < 1:
        raise InputError(f"--beamstop-threshold must be between 0 and 1, not {options.beamstop_threshold}")
    prepared = _prepare(positions, detector, options, ctx)
    tth_max = max(float(p.tth[p.use].max()) for p in prepared if p.use.any())
    edges = bin_edges(tth_max, options.bins or min(shape))
    nbins = len(edges) - 1
    ctx.report("beam stops", 0, 1)

    centres = 0.5 * (edges[:-1] + edges[1:])

    def shadow_of(p: _Prepared) -> None:
        p.index = bin_index(p.tth, edges)
        p.weights = interpolation_weights(p.tth, centres)
        p.shadow = find_shadow(p.tth, p.index, p.corrected, p.use, edges, options.beamstop_threshold)

    _each(shadow_of, prepared)
    # Beam stops move with the detector; a pixel dark at every position is the pixel (dead or
    # damaged), not a shadow: keep it, so that it gets a gain and is reported as damaged.
    dark_everywhere = np.logical_and.reduce([p.shadow for p in prepared])
    for p in prepared:
        p.shadow &= ~dark_everywhere
    beam_centres = _check_overlap(positions, prepared, detector)
    for p in prepared:
        p.use &= ~p.shadow

    gain = np.ones(shape)
    stack = np.empty((len(prepared), *shape))
    changes: list[float] = []
    tth_range = options.tth_range
    total = options.iterations + 1
    for it in range(total):
        ctx.report("profiles", it, total)

        def profile_of(p: _Prepared, gain=gain) -> tuple[np.ndarray, np.ndarray]:
            with np.errstate(invalid="ignore", divide="ignore"):
                return bin_medians(p.index, p.corrected / gain, p.use & np.isfinite(gain), nbins)

        results = _each(profile_of, prepared)
        medians = np.array([m for m, _ in results])
        counts = np.array([c for _, c in results])
        profile = combine_profiles(centres, medians, counts)
        if tth_range is None:
            tth_range = suggest_range(profile)
        _check_range(tth_range, tth_max)
        coefficients = fit_extrapolation(profile, tth_range, options.degree)
        expected = ExpectedProfile(centres, profile.values, coefficients,
                                   fit_bins(profile, tth_range, options.extrapolate))
        def gain_of(k: int, expected=expected, profile=profile) -> None:
            p = prepared[k]
            with np.errstate(invalid="ignore", divide="ignore"):
                stack[k] = np.where(p.use, p.corrected / (profile.scales[k] * expected.at(p.weights)), np.nan)

        _each(gain_of, range(len(prepared)))
        stack[~(stack > 0)] = np.nan
        new, coverage = _combine(stack, prepared, options.beamstop_threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            change = float(np.sqrt(np.nanmean((new / gain - 1) ** 2)))
        changes.append(change)
        gain = new
        if it > 0 and change < options.tolerance:
            break
    ctx.report("uncertainty", 0, 1)
    uncertainty = _uncertainty(stack, gain, coverage)
    missing = float(np.mean(coverage[~_gaps_of(prepared)] == 0))
    if missing > 0.05:
        raise ComputationError(f"{missing:.0%} of the detector was not measured at any position "
                               "(beam stops or masks cover it everywhere); add positions")
    ctx.report("damaged pixels", 0, 1)
    use = np.isfinite(gain)
    damaged, _ = find_damaged(gain, use, options.damaged_sigma, options.damaged_window)
    ctx.report("median filter", 0, 1)
    filtered = masked_median_filter(gain, use & ~damaged, options.filter_size)
    final = np.where(damaged | ~np.isfinite(filtered), gain, filtered)
    final[~use] = np.nan
    summaries = [
        PositionSummary(pos.name, float(profile.scales[k]), int(p.shadow.sum()), p.partial, int(p.use.sum()),
                        float(p.tth[p.use].max()) if p.use.any() else 0.0, tuple(map(float, beam_centres[k])))
        for k, (pos, p) in enumerate(zip(positions, prepared, strict=True))
    ]
    return GainResult(final, gain, uncertainty, damaged, coverage, profile, expected, tuple(tth_range),
                      options.tth_range is None, changes, summaries, options)


def _each(fn, items) -> list:
    """``fn`` over ``items`` on a thread per core: numpy sorts and arithmetic release the GIL."""
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def _check_range(tth_range: tuple[float, float], tth_max: float) -> None:
    lo, hi = tth_range
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise InputError(f"--range must be TTH_MIN,TTH_MAX with 0 <= min < max, not {lo:g},{hi:g}")
    if lo >= tth_max:
        raise InputError(f"--range {lo:g},{hi:g} starts beyond the largest 2θ measured ({tth_max:.3f}°)")


def _combine(stack: np.ndarray, prepared: list[_Prepared], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Masked median over positions, normalised to median 1; partial shadows dropped, then again."""
    gain, coverage = masked_median(stack, axis=0)
    with np.errstate(invalid="ignore"):
        partial = stack < threshold * gain
    if partial.any():
        for k, p in enumerate(prepared):
            p.partial += int(partial[k].sum())
            p.use &= ~partial[k]
        stack[partial] = np.nan
        gain, coverage = masked_median(stack, axis=0)
    norm = float(np.nanmedian(gain))
    stack /= norm
    return gain / norm, coverage


def _uncertainty(stack: np.ndarray, gain: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Standard error of the median over positions: robust spread (1.4826 x MAD about the map) /
    sqrt(n) x sqrt(π/2); NaN where fewer than 2 positions measured the pixel. MAD rather than the
    standard deviation because the median already ignores a partial shadow; the spread must too.
    """
    with np.errstate(invalid="ignore"):
        mad, _ = masked_median(np.abs(stack - gain[None]), axis=0)
        unc = MEDIAN_EFFICIENCY * MAD_TO_SIGMA * mad / np.sqrt(np.maximum(coverage, 1))
    unc[coverage < 2] = np.nan
    return unc


def _gaps_of(prepared: list[_Prepared]) -> np.ndarray:
    """Pixels no position could ever use (gaps, masks, invalid in every position's frames)."""
    never = np.ones(prepared[0].tth.shape, bool)
    for p in prepared:
        never &= ~(p.use | p.shadow)
    return never
