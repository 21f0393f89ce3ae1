"""Is the fit to be trusted? Compare the residual with the peak-position noise floor and check that
every ring's label is consistent. A wrong geometry must never be presented as a success.

The noise floor is measured from the points themselves: along a ring, neighbouring peaks see the
same geometry error, so half the variance of successive residual differences is the peak-position
noise alone; any excess of the RMS over it is misfit (wrong labels, calibrant, wavelength, model).
"""

from __future__ import annotations

import numpy as np

from calterm.core.calibrate.explained import Explanation
from calterm.core.calibrate.labels import ONE_RING_HINT, label_reasons
from calterm.core.calibrate.model import RingResidual, Verdict
from calterm.core.calibrate.refine import ControlPoints

# Absolute limits, in radians of 2θ. Measured: correct fits end at 0.01-0.2 mrad on synthetic and
# clean images, ~1 mrad on a lab CCD with a distorting taper; mislabelled ones at 1-2 mrad, which
# the ring-label and noise-ratio tests catch, so the absolute "failed" limit is only a backstop.
GOOD_RMS_RAD = 5e-5  # below this a fit is good whatever the noise estimate says
FAILED_RMS_RAD = 5e-3
MAX_NOISE_RATIO = 3.0
MIN_EXPLAINED = 0.4  # measured: right geometries 0.6 (real CCD with Kβ and impurity rings) to 1.0, a wrong one 0.22
MIN_RING_POINTS = 5
MAX_MISFIT_PX = 1.5  # RMS distance from the rings, distortion removed: 0.01-0.1 px synthetic, 0.53 px lab CCD, junk 4 px
MAX_SCATTER_PX = 1.5  # point-to-point scatter of real ring peaks is 0.05-0.5 px (measured)
SUPPORT_FRACTION = 0.01  # a ring counts when it holds at least 1 % of the points
FOUND_FRACTION = 0.25  # of the rings the geometry puts on the detector (up to MAX_EXPECTED_RINGS) ...
MAX_EXPECTED_RINGS = 12  # ... outer rings may be too weak or crowded to resolve


def ring_residuals(points: ControlPoints, residual_rad: np.ndarray, wavelength_m: float) -> tuple[RingResidual, ...]:
    out = []
    for ring in np.unique(points.ring):
        sel = points.ring == ring
        d = float(points.d_A[sel][0])
        tth = 2 * np.degrees(np.arcsin(wavelength_m * 1e10 / (2 * d)))
        r = np.degrees(residual_rad[sel])
        out.append(RingResidual(int(ring), d, tth, int(sel.sum()), float(r.mean()), float(r.std())))
    return tuple(out)


def noise_floor(points: ControlPoints, residual_rad: np.ndarray, centre_xy: tuple[float, float]) -> float:
    """Peak-position noise (rad) from successive differences of residuals along each ring."""
    diffs = []
    angle = np.arctan2(points.rows - centre_xy[1], points.cols - centre_xy[0])
    for ring in np.unique(points.ring):
        sel = np.nonzero(points.ring == ring)[0]
        if sel.size < 5:
            continue
        order = sel[np.argsort(angle[sel])]
        diffs.append(np.diff(residual_rad[order]))
    if not diffs:
        return float("nan")
    d = np.concatenate(diffs)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2))


def azimuthal_pattern(points: ControlPoints, residual_rad: np.ndarray, centre_xy: tuple[float, float],
                      orders: int = 3) -> np.ndarray:
    """The part of the residual that is a smooth function of azimuth shared by every ring (harmonics
    up to ``orders``): what a detector distortion (a CCD taper, a warped sensor) leaves behind and no
    flat-detector geometry can absorb."""
    chi = np.arctan2(points.rows - centre_xy[1], points.cols - centre_xy[0])
    columns = [np.ones_like(chi)]
    for k in range(1, orders + 1):
        columns += [np.cos(k * chi), np.sin(k * chi)]
    A = np.vstack(columns).T
    coef = np.linalg.lstsq(A, residual_rad, rcond=None)[0]
    return A @ coef


def judge(
    points: ControlPoints,
    residual_rad: np.ndarray,
    rings: tuple[RingResidual, ...],
    centre_xy: tuple[float, float],
    tth_all_rad: np.ndarray,
    n_rejected: int = 0,
    n_predicted: int | None = None,
    px_per_rad: float | None = None,
    explained: Explanation | None = None,
) -> Verdict:
    """good / doubtful / failed, with the reasons in words.

    ``n_predicted`` is how many rings the fitted geometry puts on the detector: a geometry that
    explains one well-sampled ring and predicts twenty others nobody found is not trustworthy,
    however small its residual (a single ring fits many geometries).
    """
    rms = float(np.sqrt(np.mean(residual_rad**2))) if residual_rad.size else float("inf")
    floor = noise_floor(points, residual_rad, centre_xy)
    reasons: list[str] = []
    status = "good"
    if px_per_rad is not None and np.isfinite(floor) and floor * px_per_rad > MAX_SCATTER_PX:
        status = "doubtful"
        reasons.append(f"peak positions scatter by {floor * px_per_rad:.1f} px from one point to the next: "
                       "these are not the sharp peaks of rings")
    # The part of the residual a smooth detector distortion explains, and the RMS of what is left:
    # both the misfit check here and the noise check below judge that rest.
    pattern = azimuthal_pattern(points, residual_rad, centre_xy) if residual_rad.size >= 10 else None
    rest = float(np.sqrt(np.mean((residual_rad - pattern) ** 2))) if pattern is not None else float("inf")
    if px_per_rad is not None and pattern is not None:
        # However noisy the peaks, points on the right rings sit well under a pixel from them once a
        # smooth detector distortion is set aside; a dense calibrant's many rings can otherwise
        # "fit" scattered points at 3 px RMS within 3x their (equally inflated) noise floor.
        misfit_px = rest * px_per_rad
        if misfit_px > MAX_MISFIT_PX:
            status = "doubtful"
            reasons.append(f"the points sit {misfit_px:.1f} px (RMS) from the fitted rings: these are not the "
                           "calibrant's rings at this geometry")
    if explained is not None and explained.explained_fraction < MIN_EXPLAINED:
        status = "doubtful"
        reasons.append(f"{explained.unexplained} of the image's {explained.peaks} strongest rings fall on no "
                       f"calibrant ring at this geometry ({explained.explained_fraction:.0%} of their height "
                       "explained)")
    supported = [r for r in rings if r.count >= max(MIN_RING_POINTS, SUPPORT_FRACTION * residual_rad.size)]
    fitted_rings = len(supported)
    if (explained is not None and explained.explained_fraction >= MIN_EXPLAINED and fitted_rings >= 2
            and 2 * explained.unexplained > explained.peaks and explained.unexplained > fitted_rings):
        # by count, not height: a wrong calibrant fitted to two rings can still put 42 % of the
        # height on its rings (Au, Pt, Ni, Al on a Si image: 8 of 10 strong rings on none of its
        # rings, 2 rings fitted); right fits leave at most 4 of 9-10 (Kβ, impurities) with 6+ fitted.
        # One ring fitted: the one-ring reason below says what to do instead; under MIN_EXPLAINED the
        # reason above already says it.
        status = "doubtful"
        reasons.append(f"{explained.unexplained} of the image's {explained.peaks} strongest rings fall on no "
                       f"calibrant ring at this geometry, more than the {fitted_rings} ring(s) fitted")
    if explained is not None and explained.absent:
        status = "doubtful"
        listed = ", ".join(str(n) for n in explained.absent)
        reasons.append(f"calibrant ring(s) {listed} should lie between two strong rings but the image shows nothing "
                       "there: wrong calibrant? (CeO2 and Si, for one, share most rings)")
    if explained is not None:
        labels = label_reasons(rings, explained.profile, tth_all_rad)
        if labels:
            status = "doubtful"
            reasons += labels
    if len(supported) < 2:
        status = "doubtful"
        reasons.append(f"only {len(supported)} ring(s) carry enough points to constrain the geometry{ONE_RING_HINT}")
    elif n_predicted is not None and len(supported) < FOUND_FRACTION * min(n_predicted, MAX_EXPECTED_RINGS):
        status = "doubtful"
        reasons.append(f"the geometry puts {n_predicted} rings on the detector but only {len(supported)} were found")
    if len(rings) < 2 or residual_rad.size < 10:
        hint = ONE_RING_HINT if len(rings) == 1 else ""
        return Verdict("failed", (f"only {residual_rad.size} points on {len(rings)} ring(s): not enough to trust "
                                  f"a geometry{hint}",), rms, floor)
    if rms > FAILED_RMS_RAD:
        status = "failed"
        reasons.append(f"RMS {rms * 1e3:.2f} mrad is far above any correct fit (wrong calibrant, wavelength or labels?)")
    limit = MAX_NOISE_RATIO * floor if np.isfinite(floor) else GOOD_RMS_RAD
    for ring in rings:
        gap = _gap_rad(np.radians(ring.tth_deg), tth_all_rad)
        if abs(np.radians(ring.mean_deg)) > max(0.25 * gap, 3 * limit):
            status = _worse(status, "doubtful")
            reasons.append(f"ring {ring.ring} sits {ring.mean_deg:+.4f}° off its label: a neighbour's label fits nearly as well")
    if status == "good" and rms > max(GOOD_RMS_RAD, limit) and pattern is not None:
        if rest <= max(GOOD_RMS_RAD, limit):
            amplitude = float(np.sqrt(np.mean(pattern**2)))
            reasons.append(f"RMS {rms * 1e3:.3f} mrad is mostly a smooth azimuthal pattern shared by all rings "
                           f"({amplitude * 1e3:.3f} mrad): a detector distortion no flat geometry can absorb; "
                           f"without it {rest * 1e3:.3f} mrad against a peak noise of {floor * 1e3:.3f} mrad")
        else:
            status = "doubtful"
            reasons.append(f"RMS {rms * 1e3:.3f} mrad is {rms / floor:.1f}x the peak-position noise {floor * 1e3:.3f} mrad")
    total = residual_rad.size + n_rejected
    if total and n_rejected > 0.3 * total:
        status = _worse(status, "doubtful")
        reasons.append(f"{n_rejected} of {total} peaks were rejected as outliers")
    if status == "good" and not reasons:
        reasons.append(f"RMS {rms * 1e3:.3f} mrad, peak-position noise {floor * 1e3:.3f} mrad")
    return Verdict(status, tuple(reasons), rms, floor)


def _gap_rad(tth: float, tth_all: np.ndarray) -> float:
    others = np.abs(tth_all - tth)
    others = others[others > 1e-9]
    return float(others.min()) if others.size else np.inf


def _worse(a: str, b: str) -> str:
    order = ["good", "doubtful", "failed"]
    return order[max(order.index(a), order.index(b))]
