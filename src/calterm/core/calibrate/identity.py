"""Is it the calibrant the user said? Every known calibrant, distance free, against the image's rings.

A wrong calibrant can fit well: Si's rings are a subset of CeO2's (lattices 0.4 % apart), so a
CeO2 image read as Si fits at a distance 0.4 % off with a residual at the noise, and NaCl, Au, Al,
Pt and CeO2 share one face-centred comb at different scales. Residuals cannot see that; the image
can, twice:

1. **The peak set.** The image's ring peaks, placed on a flat untilted detector (x = D·tan 2θ at
   the fitted geometry, or the pixel radius before any fit), are matched by each calibrant's comb
   at every distance that puts one of its first rings on one of the strongest peaks. The score is
   the fraction of the peaks' height its rings explain minus the fraction of its rings, among
   those between the first and last strong peak, that the image does not show. Si on a CeO2 image
   leaves (200), (222), (420) unexplained; CeO2 on a Si image predicts (200) where nothing is.
2. **The ring positions.** Calibrants that share a comb differ only through the non-linearity of
   tan(2 arcsin(λ/2d)): the control points are refitted with the alternative's rings, and the
   residuals compared (NaCl for CeO2 at 0.5 Å: 3 px at 500 px radius, far above sub-pixel noise).

An alternative that scores as well or better on the peaks and fits the points as well makes the
verdict doubtful, naming it. The same ranking, without a fit, is ``calterm identify``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from calterm.core.calibrate.explained import PEAK_Z, TthProfile
from calterm.core.calibrate.refine import ControlPoints, refine_geometry
from calterm.core.common.calibrants import Calibrant, load_calibrant, registered_names, user_calibrant_dir
from calterm.core.common.geometry import Constraints, PoniGeometry
from calterm.errors import CaltermError

STRONG_PEAKS = 20  # the strongest profile peaks matched (more only adds weak, noisy ones)
ANCHOR_PEAKS = 3  # distances tried: one of these peaks on one of ...
ANCHOR_RINGS = 12  # ... a calibrant's first rings
MAX_DRINGS = 60  # rings per calibrant considered (dense calibrants beyond this are all "absent" anyway)
ABSENT_RATIO = 0.1  # a predicted ring under a tenth of the median matched peak (and PEAK_Z) is absent
SAME_LATTICE = 1e-3  # calibrants whose first rings agree this well are one material (Si and Si_SRM640d)
DISTANCE_RANGE_M = (0.03, 3.0)
# Decisions, measured on the sweep (benchmarks/sweep_wrong_calibrant.py): the right calibrant scores
# 0.85-1.0, a wrong one whose rings are a subset 0.5-0.75; a same-comb alternative ties on the peaks
# and refits 5-100x worse when the lattices differ by 4 % or more.
CLEARLY_BETTER = 0.1  # on the peak score
TIE = 0.05
# An alternative refitting within 5 % of the user's RMS fits "as well": the image cannot tell them
# apart. Measured: same-comb rivals of the right calibrant refit 1.14x (spotty rings, 0.4 Å) to 100x
# worse; the right calibrant of a wrong reading refits 0.3-0.8x.
RMS_AS_WELL = 1.05
RMS_IF_BETTER = 2.0  # one that clearly explains more peaks may refit up to 2x worse (its fit is not tuned)
MAX_REFITS = 3
MIN_RIVAL_EXPLAINED = 0.5  # a rival is named only when its rings explain half the peaks' height or more
REFIT_POINTS = 300  # an even subset of the control points: plenty to compare residuals


@dataclass(frozen=True)
class PeakSet:
    """The image's ring peaks as radii on a flat untilted detector (metres): a calibrant at distance
    D puts ring n at x = D·tan(2θ_n). ``heights(x)`` is the profile's height there (NaN: no data)."""

    x: np.ndarray
    z: np.ndarray
    tol: np.ndarray  # how far (m) a ring may sit from each peak and still explain it
    heights: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CalibrantScore:
    """How well one calibrant explains the image, at its best distance."""

    name: str
    distance_m: float
    explained: float  # fraction of the strong peaks' height on its rings
    absent: int  # its rings between the first and last strong peak that the image does not show
    expected: int  # its rings there
    score: float  # explained - absent/expected
    misfit_m: float = 0.0  # RMS distance of the explained peaks from its rings (m on the detector)
    rms_rad: float | None = None  # the control points refitted with its rings (None: not refitted)

    def as_dict(self) -> dict:
        return {"calibrant": self.name, "distance_mm": self.distance_m * 1e3, "score": self.score,
                "explained": self.explained, "absent": self.absent, "expected": self.expected,
                "misfit_mm": self.misfit_m * 1e3, "rms_2th_rad": self.rms_rad}


@dataclass(frozen=True)
class Identity:
    """The user's calibrant against the others: the ranking and, when one fits as well or better, why."""

    calibrant: str
    own: CalibrantScore
    ranking: tuple[CalibrantScore, ...]  # every other material, best first
    rival: CalibrantScore | None = None
    reason: str | None = None

    @property
    def doubtful(self) -> bool:
        return self.rival is not None

    def describe(self) -> str:
        """One line for a report: the rival, or the best other calibrant and how far behind it is."""
        if self.reason:
            return self.reason
        if not self.ranking:
            return f"no other calibrant explains these rings ({self.calibrant}: score {self.own.score:.2f})"
        best = self.ranking[0]
        return (f"{self.calibrant} explains {self.own.explained:.0%} of the image's ring peaks (score "
                f"{self.own.score:.2f}); the best other, {best.name}, scores {best.score:.2f}"
                + (f" and refits {best.rms_rad / self.own.rms_rad:.1f}x worse" if best.rms_rad and self.own.rms_rad
                   else ""))

    def as_dict(self) -> dict:
        return {"calibrant": self.calibrant, "own": self.own.as_dict(), "doubtful": self.doubtful,
                "reason": self.reason, "rival": None if self.rival is None else self.rival.as_dict(),
                "ranking": [s.as_dict() for s in self.ranking[:5]]}


@cache
def _registry() -> tuple[Calibrant, ...]:
    # parsing pyFAI's 39 files costs 0.4 s: once per process
    return tuple(load_calibrant(name) for name in registered_names())


def candidate_calibrants(extra: Sequence[Calibrant] = ()) -> list[Calibrant]:
    """pyFAI's registry and the user's calibrant folder, one entry per material (shortest name)."""
    found: list[Calibrant] = [*extra, *_registry()]
    folder = user_calibrant_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.D")):
            try:
                found.append(load_calibrant(str(path)))
            except CaltermError:
                continue  # a broken file in the folder is not this image's problem
    out: list[Calibrant] = []
    for cal in sorted(found, key=lambda c: (len(c.name), c.name)):
        if cal.d_spacings_A and not any(same_material(cal, kept) for kept in out):
            out.append(cal)
    return out


def same_material(a: Calibrant, b: Calibrant) -> bool:
    n = min(6, len(a.d_spacings_A), len(b.d_spacings_A))
    if n == 0:
        return False
    da, db = np.asarray(a.d_spacings_A[:n]), np.asarray(b.d_spacings_A[:n])
    return bool(np.all(np.abs(da - db) <= SAME_LATTICE * db))


def peaks_from_tth_profile(profile: TthProfile, distance_m: float) -> PeakSet | None:
    """The peaks of the fitted geometry's 2θ profile, as radii at ``distance_m``."""
    tth, z = profile.peaks(STRONG_PEAKS)
    if tth.size == 0:
        return None
    tth = _subbin(profile, tth)
    x = distance_m * np.tan(tth)
    tol = distance_m * (1 + np.tan(tth) ** 2) * 2.5 * profile.step

    def heights(r: np.ndarray) -> np.ndarray:
        return profile.heights(np.arctan(np.asarray(r) / distance_m))

    return PeakSet(x, z, tol, heights)


def _subbin(profile: TthProfile, tth: np.ndarray) -> np.ndarray:
    """Peak positions to a fraction of a bin (parabola through the top three bins)."""
    i = np.clip(np.round((tth - profile.centres[0]) / profile.step).astype(int), 1, profile.z.size - 2)
    a, b, c = profile.z[i - 1], profile.z[i], profile.z[i + 1]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    return profile.centres[i] + np.clip(shift, -0.5, 0.5) * profile.step


def score_calibrant(peaks: PeakSet, cal: Calibrant, wavelength_m: float,
                    distance_range_m: tuple[float, float] = DISTANCE_RANGE_M) -> CalibrantScore | None:
    """The calibrant's best distance and score on ``peaks`` (None: no ring of it below 90°)."""
    tan = _ring_tan(cal, wavelength_m)
    if tan.size == 0:
        return None
    order = np.argsort(peaks.z)[::-1]
    anchors = peaks.x[order[:ANCHOR_PEAKS]]
    distances = (anchors[:, None] / tan[None, :ANCHOR_RINGS]).ravel()
    lo, hi = distance_range_m
    distances = distances[(distances >= lo) & (distances <= hi)]
    if distances.size == 0:
        return None
    # every trial distance, then each moved to the least-squares scale of the peaks it explains
    distances = np.concatenate([distances, _refined_distances(peaks, tan, distances)])
    return _best(peaks, cal.name, tan, distances)


def _ring_tan(cal: Calibrant, wavelength_m: float) -> np.ndarray:
    tth = cal.two_theta_rad(wavelength_m)[:MAX_DRINGS]
    return np.tan(tth[tth < np.radians(89.0)])


def _matches(peaks: PeakSet, tan: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each trial distance (rows) and peak (columns): is the peak explained, and by which ring."""
    ring_x = distances[:, None] * tan[None, :]
    offsets = np.abs(peaks.x[None, :, None] - ring_x[:, None, :])
    nearest = np.argmin(offsets, axis=2)
    offset = np.take_along_axis(offsets, nearest[..., None], axis=2)[..., 0]
    gaps = np.abs(np.diff(tan))
    spacing = np.minimum(np.append(gaps, np.inf), np.insert(gaps, 0, np.inf))
    # within the peak's tolerance, and within a fifth of the local ring spacing (else a dense comb
    # lands near any peak)
    return offset <= np.minimum(peaks.tol[None, :], 0.2 * distances[:, None] * spacing[nearest]), nearest, offset


def _refined_distances(peaks: PeakSet, tan: np.ndarray, distances: np.ndarray) -> np.ndarray:
    ok, nearest, _ = _matches(peaks, tan, distances)
    w = peaks.z[None, :] * ok
    t = tan[nearest]
    den = np.sum(w * t * t, axis=1)
    return np.where(den > 0, np.sum(w * peaks.x[None, :] * t, axis=1) / np.where(den > 0, den, 1), distances)


def _best(peaks: PeakSet, name: str, tan: np.ndarray, distances: np.ndarray) -> CalibrantScore | None:
    """The best-scoring of ``distances`` (see the module docstring for the score)."""
    ok, _, offset = _matches(peaks, tan, distances)
    any_ok = ok.any(axis=1)
    if not any_ok.any():
        return None
    explained = (ok * peaks.z[None, :]).sum(axis=1) / float(peaks.z.sum())
    matched = np.where(ok, peaks.z[None, :], np.nan)
    with np.errstate(all="ignore"):
        floor = np.minimum(PEAK_Z, ABSENT_RATIO * np.nanmedian(np.where(any_ok[:, None], matched, 0.0), axis=1))
    ring_x = distances[:, None] * tan[None, :]
    margin = peaks.tol.max()
    inside = (ring_x >= peaks.x.min() - margin) & (ring_x <= peaks.x.max() + margin)
    heights = peaks.heights(ring_x.ravel()).reshape(ring_x.shape)
    seen = inside & np.isfinite(heights)
    expected = seen.sum(axis=1)
    absent = (seen & (np.nan_to_num(heights, nan=np.inf) < floor[:, None])).sum(axis=1)
    score = explained - absent / np.maximum(expected, 1)
    score = np.where(any_ok, score, -np.inf)
    k = int(np.lexsort((-explained, -score))[0])
    misfit = float(np.sqrt(np.sum(ok[k] * peaks.z * offset[k] ** 2) / np.sum(ok[k] * peaks.z)))
    return CalibrantScore(name, float(distances[k]), float(explained[k]), int(absent[k]), int(expected[k]),
                          float(score[k]), misfit)


def rank(peaks: PeakSet, calibrants: Sequence[Calibrant], wavelength_m: float,
         distance_range_m: tuple[float, float] = DISTANCE_RANGE_M) -> list[CalibrantScore]:
    """Every calibrant's best score on ``peaks``, best first."""
    scores = [s for cal in calibrants if (s := score_calibrant(peaks, cal, wavelength_m, distance_range_m)) is not None]
    # scores within TIE are ranked by how closely the rings sit on the peaks: calibrants sharing a comb
    # (NaCl, CeO2, Au) differ only there, through the non-linearity of tan 2θ
    return sorted(scores, key=lambda s: (-round(s.score / TIE), s.misfit_m, s.name))


def check_identity(profile: TthProfile | None, geometry: PoniGeometry, detector, points: ControlPoints,
                   residual_rad: np.ndarray, calibrant: Calibrant,
                   candidates: Sequence[Calibrant] | None = None) -> Identity | None:
    """Test the user's calibrant against every other that could explain the same image (see the
    module docstring); None when the image has no clear peaks to judge by."""
    if profile is None:
        return None
    peaks = peaks_from_tth_profile(profile, geometry.dist)
    if peaks is None or peaks.x.size < 2:
        return None
    wavelength = geometry.wavelength
    # the user's calibrant at the fitted distance (the fit chose it); the others at any distance
    # ... to the same precision as the others' (the profile's peaks, not the points, set the scale)
    own_tan = _ring_tan(calibrant, wavelength)
    if own_tan.size == 0:
        return None
    fitted = np.array([geometry.dist])
    own = _best(peaks, calibrant.name, own_tan, np.concatenate([fitted, _refined_distances(peaks, own_tan, fitted)]))
    if own is None:
        return None
    pool = candidate_calibrants() if candidates is None else list(candidates)
    others = [c for c in pool if not same_material(c, calibrant) and c.name != calibrant.name]
    ranking = rank(peaks, others, wavelength)
    subset = _even_subset(points, residual_rad)
    rms_own = float(np.sqrt(np.mean(np.minimum(np.abs(subset[1]), 1e-2) ** 2))) if subset[1].size else np.inf
    contenders = [s for s in ranking if s.score >= own.score - TIE and s.explained >= MIN_RIVAL_EXPLAINED][:MAX_REFITS]
    by_name = {c.name: c for c in others}
    refitted = []
    for rival in contenders:
        rms, distance = _refit_rms(geometry, detector, subset, by_name[rival.name], rival.distance_m / own.distance_m)
        if distance is None or not DISTANCE_RANGE_M[0] <= distance <= DISTANCE_RANGE_M[1]:
            rms = np.inf  # the refit ran off to no plausible distance: it explains nothing
        scored = replace(rival, rms_rad=rms, distance_m=distance or rival.distance_m)
        refitted.append(scored)
        clearly = rival.score >= own.score + CLEARLY_BETTER and rms <= RMS_IF_BETTER * rms_own
        tied = rms <= RMS_AS_WELL * rms_own
        if clearly or tied:
            better = clearly or (rival.score > own.score + TIE) or rms * RMS_AS_WELL < rms_own
            how = "better than" if better else "as well as"
            reason = (f"these rings fit {rival.name} {how} {calibrant.name} (at {scored.distance_m * 1e3:.1f} mm: "
                      f"{rival.explained:.0%} of the peaks explained against {own.explained:.0%}, "
                      f"RMS {rms * 1e3:.3f} against {rms_own * 1e3:.3f} mrad): check the calibrant")
            return Identity(calibrant.name, replace(own, rms_rad=rms_own), _merged(ranking, refitted), scored, reason)
    return Identity(calibrant.name, replace(own, rms_rad=rms_own), _merged(ranking, refitted))


def _merged(ranking: list[CalibrantScore], refitted: list[CalibrantScore]) -> tuple[CalibrantScore, ...]:
    done = {s.name: s for s in refitted}
    return tuple(done.get(s.name, s) for s in ranking)


def _even_subset(points: ControlPoints, residual_rad: np.ndarray) -> tuple[ControlPoints, np.ndarray]:
    n = len(points)
    keep = np.unique(np.linspace(0, n - 1, min(n, REFIT_POINTS)).astype(int)) if n else np.zeros(0, int)
    return points.subset(keep), residual_rad[keep]


def _refit_rms(geometry: PoniGeometry, detector, subset: tuple[ControlPoints, np.ndarray], cal: Calibrant,
               scale: float) -> tuple[float, float | None]:
    """RMS (rad) of the points refitted with ``cal``'s rings, from the geometry scaled by ``scale``,
    and the refitted distance (m; None when the refit failed).

    Each point takes the alternative's ring nearest to it at the scaled distance; points that fall
    on none of its rings count against it (at 10 mrad, a certain misfit)."""
    points, residual = subset
    if len(points) < 10:
        return np.inf, None
    s = geometry.wavelength * 1e10 / (2.0 * points.d_A)
    tth_points = 2.0 * np.arcsin(np.clip(s, -1, 1)) + residual
    ring_tth = cal.two_theta_rad(geometry.wavelength)
    ring_tth = ring_tth[ring_tth < np.radians(89.0)]
    if ring_tth.size == 0:
        return np.inf, None
    x = np.tan(tth_points) / scale
    nearest = np.argmin(np.abs(x[:, None] - np.tan(ring_tth)[None, :]), axis=1)
    d = np.asarray(cal.d_spacings_A)[: ring_tth.size][nearest]
    relabelled = ControlPoints(points.rows, points.cols, nearest + 1, d)
    start = replace(geometry, dist=geometry.dist * scale)
    try:
        fit = refine_geometry(start, relabelled, detector, Constraints())
    except CaltermError:
        return np.inf, None
    r = np.minimum(np.abs(fit.residual_rad), 1e-2)
    return float(np.sqrt(np.mean(r**2))), float(fit.geometry.dist)


def identity_verdict(data: np.ndarray, valid: np.ndarray, detector, geometry: PoniGeometry, points: ControlPoints,
                     residual_rad: np.ndarray, verdict, calibrant: Calibrant):
    """(identity, verdict): the check after a fit, and the verdict made doubtful, naming the rival,
    when another calibrant explains the image as well or better. A failed fit is not checked."""
    from calterm.core.calibrate.explained import tth_profile

    if verdict.status == "failed" or len(points) < 10:
        return None, verdict
    identity = check_identity(tth_profile(data, valid, geometry, detector), geometry, detector, points,
                              residual_rad, calibrant)
    if identity is None or not identity.doubtful:
        return identity, verdict
    # a good fit refused for this reason alone says it first; a doubtful one keeps its own reasons first
    reasons = (identity.reason, *verdict.reasons) if verdict.ok else (*verdict.reasons, identity.reason)
    return identity, replace(verdict, status="doubtful", reasons=reasons)
