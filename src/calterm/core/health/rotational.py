"""Quadrant / panel alignment by correlating each panel's powder rings with themselves rotated.

Powder rings are circles about the beam centre, so a panel in its right place looks the same after a
rotation about the centre; a panel whose content is displaced by ``s`` does not. For a trial shift
``t`` we compare each panel pixel ``q`` with the panel's own content at the rotated point
``c + R(phi)(q - t - c) + t`` (the same panel, undone by ``t``, rotated about the centre ``c``), over
several angles of both signs (cctbx's ``cspad.quadrants_cbf`` uses one), and take the ``t`` of
highest correlation: ``shift`` is the displacement of the panel's content from where it belongs
(x = column, y = row, pixels); moving the panel by ``-shift`` aligns it.

scipy has no rotational self-correlation search, so the search is ours: a grid search on a binned
image (coarse), grids around the estimate at finer binnings, then sub-pixel refinement by fitting a
2D quadratic to the correlation around its peak, re-evaluated on finer steps with cubic-spline
interpolation (cctbx stops at whole pixels). Masked pixels (and pixels whose interpolation would
touch one) take no part.

The method assumes the rings are circles about ``center``: on a tilted detector it reads their
ellipticity as panel shifts (1.8-2.5 px on the tilted demo image). With a calibration,
:mod:`calterm.core.health.panel_fit` fits the panels from the rings themselves and uses this only as
its coarse start; :mod:`calterm.core.health.alignment` chooses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from calterm.core.common.jobs import JobContext
from calterm.core.common.panel_layouts import Panel
from calterm.errors import ComputationError, InputError

MAX_POINTS = 80_000  # sample points per panel and level: fewer lets noise move the shift (0.2 px on real data at 40k)
STEPS = (1.0, 0.3)  # sub-pixel refinement steps (px)


@dataclass(frozen=True)
class PanelShift:
    """One panel's result: its content's displacement (px, x = column, y = row) and correlations."""

    name: str
    shift: tuple[float, float]
    cc: float
    cc_before: float
    angles_deg: tuple[float, ...]

    def as_dict(self) -> dict:
        return {"name": self.name, "shift": [round(self.shift[0], 4), round(self.shift[1], 4)],
                "cc": round(self.cc, 5), "cc_before": round(self.cc_before, 5),
                "angles_deg": [round(a, 2) for a in self.angles_deg]}


@dataclass(frozen=True)
class AlignResult:
    panels: list[PanelShift]

    @property
    def cc_before(self) -> float:
        return float(np.mean([p.cc_before for p in self.panels]))

    @property
    def cc_after(self) -> float:
        return float(np.mean([p.cc for p in self.panels]))

    def report(self) -> dict:
        return {"panels": [p.as_dict() for p in self.panels], "cc_before": round(self.cc_before, 5),
                "cc_after": round(self.cc_after, 5)}


class _Level:
    """A panel at one binning: sample points, spline coefficients, and where interpolation is trusted.

    The rotated partner of sample ``q`` for trial shift ``t`` is ``c + R(q - c) + (I - R) t``: its
    ``t``-free part is computed once per angle, so each trial costs an offset, a bounds test and one
    interpolation.
    """

    def __init__(self, image: np.ndarray, valid: np.ndarray, panel: Panel, binning: int, order: int,
                 center: tuple[float, float], angles_rad: Sequence[float], max_points: int = MAX_POINTS) -> None:
        from scipy import ndimage

        self.b, self.order = binning, order
        sub, ok = image[panel.slices], valid[panel.slices]
        if binning > 1:
            h, w = (sub.shape[0] // binning) * binning, (sub.shape[1] // binning) * binning
            blocks = lambda a: a[:h, :w].reshape(h // binning, binning, w // binning, binning)  # noqa: E731
            n = blocks(ok).sum(axis=(1, 3))
            total = blocks(np.where(ok, sub, 0.0)).sum(axis=(1, 3))
            sub = np.where(n > 0, total / np.maximum(n, 1), 0.0)
            ok = n * 2 >= binning * binning
        values = np.where(ok, sub, np.median(sub[ok]) if ok.any() else 0.0)
        reach = 2 if order >= 2 else 1  # how far a spline of this order reaches from the nearest pixel
        self.bad = ndimage.binary_dilation(~ok, iterations=reach) if (~ok).any() else None
        self.coeffs = ndimage.spline_filter(values, order=order, mode="mirror") if order > 1 else values
        h, w = values.shape
        self.lo, self.hi_x, self.hi_y = reach, w - 1 - reach, h - 1 - reach
        # sample points: valid binned pixels, a seeded random subset when there are too many (a regular
        # stride would alias with the rings)
        rows, cols = np.nonzero(ok)
        if rows.size > max_points:
            keep = np.sort(np.random.default_rng(0).choice(rows.size, max_points, replace=False))
            rows, cols = rows[keep], cols[keep]
        self.a = values[rows, cols]
        off = (binning - 1) / 2  # binned index k is centred on full-resolution coordinate origin + b k + off
        cx, cy = (center[0] - panel.x0 - off) / binning, (center[1] - panel.y0 - off) / binning
        px, py = cols - cx, rows - cy
        self.rot = [(math.cos(phi), math.sin(phi)) for phi in angles_rad]
        self.base = [(cx + cos * px - sin * py, cy + sin * px + cos * py) for cos, sin in self.rot]

    def cc(self, t: tuple[float, float]) -> float:
        """Pooled Pearson correlation of the panel with itself rotated by each angle, undone by ``t``."""
        from scipy import ndimage

        tx, ty = t[0] / self.b, t[1] / self.b
        xs, ys = [], []
        for (cos, sin), (bx, by) in zip(self.rot, self.base, strict=True):
            ix = bx + (tx - cos * tx + sin * ty)
            iy = by + (ty - sin * tx - cos * ty)
            sel = np.flatnonzero((ix >= self.lo) & (ix <= self.hi_x) & (iy >= self.lo) & (iy <= self.hi_y))
            if self.bad is not None:
                sel = sel[~self.bad[np.rint(iy[sel]).astype(np.intp), np.rint(ix[sel]).astype(np.intp)]]
            xs.append(self.a[sel])
            ys.append(ndimage.map_coordinates(self.coeffs, [iy[sel], ix[sel]], order=self.order,
                                              prefilter=False, mode="mirror"))
        a, b = np.concatenate(xs), np.concatenate(ys)
        if a.size < 50:
            return -1.0
        a, b = a - a.mean(), b - b.mean()
        # sums of products, not `a @ b`: BLAS would spread a tiny dot product over busy cores
        den = math.sqrt(float(np.square(a).sum()) * float(np.square(b).sum()))
        return float((a * b).sum()) / den if den > 0 else -1.0


def rotation_angles(panel: Panel, center: tuple[float, float]) -> tuple[float, ...]:
    """Angles (degrees, both signs) as fractions of the angular span of the panel seen from the centre.

    A quadrant spans 90 degrees: 13.5, 27 and 40.5 degrees keep half or more of it overlapping its
    rotated self; a small far module spans less, and so do its angles.
    """
    cx, cy = center
    inside = panel.x0 - 0.5 <= cx <= panel.x1 - 0.5 and panel.y0 - 0.5 <= cy <= panel.y1 - 0.5
    if inside:
        span = 90.0
    else:
        xs = np.array([panel.x0, panel.x1 - 1, panel.x1 - 1, panel.x0], float) - cx
        ys = np.array([panel.y0, panel.y0, panel.y1 - 1, panel.y1 - 1], float) - cy
        span = min(90.0, math.degrees(_angular_span(np.arctan2(ys, xs))))
    return tuple(s * f * span for f in (0.15, 0.3, 0.45) for s in (1, -1))


def _angular_span(angles: np.ndarray) -> float:
    """Smallest arc holding all the angles (radians)."""
    a = np.sort(np.mod(angles, 2 * math.pi))
    gaps = np.diff(np.concatenate([a, [a[0] + 2 * math.pi]]))
    return float(2 * math.pi - gaps.max())


def _quadratic_peak(ts: np.ndarray, ccs: np.ndarray) -> tuple[float, float] | None:
    """Peak of a 2D quadratic least-squares fit, or None if the surface has no maximum."""
    x, y = ts[:, 0], ts[:, 1]
    design = np.column_stack([np.ones_like(x), x, y, x * x, x * y, y * y])
    c = np.linalg.lstsq(design, ccs, rcond=None)[0]
    hess = np.array([[2 * c[3], c[4]], [c[4], 2 * c[5]]])
    if not (np.linalg.det(hess) > 0 and hess[0, 0] < 0):
        return None
    peak = np.linalg.solve(hess, -c[1:3])
    return float(peak[0]), float(peak[1])


def _grid(center_t, step: float, half: int):
    r = np.arange(-half, half + 1) * step
    return [(center_t[0] + dx, center_t[1] + dy) for dy in r for dx in r]


def align_panel(image: np.ndarray, valid: np.ndarray, panel: Panel, center: tuple[float, float],
                search_px: float = 20.0, ctx: JobContext | None = None, max_points: int = MAX_POINTS) -> PanelShift:
    """The displacement of ``panel``'s content that makes it most symmetric about ``center``."""
    ctx = ctx or JobContext()
    angles_deg = rotation_angles(panel, center)
    angles = [math.radians(a) for a in angles_deg]
    short = min(panel.shape)
    top = 1  # coarsest binning: the search square at most ~13 binned pixels wide
    while search_px / top > 6 and short // (top * 2) >= 32:
        top *= 2
    # coarse: every binned pixel of the search square at the coarsest binning
    level = _Level(image, valid, panel, top, 1, center, angles, max_points)
    half = max(1, math.ceil(search_px / top))
    best = max(_grid((0.0, 0.0), top, half), key=level.cc)
    b = top
    while b > 2:  # finer binnings: a 5x5 grid around the estimate
        ctx.check()
        b //= 2
        level = _Level(image, valid, panel, b, 1, center, angles, max_points)
        best = max(_grid(best, b, 2), key=level.cc)
    fine = _Level(image, valid, panel, 1, 3, center, angles, max_points)
    for step in STEPS:  # sub-pixel: quadratic fits on ever finer 3x3 grids
        for _ in range(8):  # first walk the 3x3 grid uphill until its centre is the best
            ctx.check()
            ts = np.array(_grid(best, step, 1))
            ccs = np.array([fine.cc(tuple(t)) for t in ts])
            if int(np.argmax(ccs)) == 4:
                break
            best = tuple(ts[int(np.argmax(ccs))])
        peak = _quadratic_peak(ts - best, ccs)
        if peak is None or max(abs(peak[0]), abs(peak[1])) > 1.5 * step:
            best = tuple(ts[int(np.argmax(ccs))])
        else:
            best = (best[0] + peak[0], best[1] + peak[1])
    if max(abs(best[0]), abs(best[1])) > search_px + 1:
        raise ComputationError(f"panel {panel.name}: best shift {best} is outside the search range")
    return PanelShift(panel.name, (float(best[0]), float(best[1])), fine.cc(best), fine.cc((0.0, 0.0)),
                      angles_deg)


def align_panels(image: np.ndarray, panels: Sequence[Panel], center: tuple[float, float],
                 valid: np.ndarray | None = None, search_px: float = 20.0,
                 ctx: JobContext | None = None, max_points: int = MAX_POINTS) -> AlignResult:
    """Align every panel; ``valid`` False marks masked pixels; ``max_points`` trades precision for time."""
    ctx = ctx or JobContext()
    image = np.asarray(image, float)
    valid = np.isfinite(image) if valid is None else np.asarray(valid, bool) & np.isfinite(image)
    if not search_px > 0:
        raise InputError(f"search range must be positive, not {search_px}")
    results = []
    for i, panel in enumerate(panels):
        ctx.report(f"aligning {panel.name}", i, len(panels))
        if valid[panel.slices].sum() < 100:
            raise ComputationError(f"panel {panel.name}: fewer than 100 unmasked pixels")
        results.append(align_panel(image, valid, panel, center, search_px, ctx, max_points))
    ctx.report("aligned", len(panels), len(panels))
    return AlignResult(results)


def corrected_image(image: np.ndarray, panels: Sequence[Panel], result: AlignResult,
                    fill: float = -1.0) -> np.ndarray:
    """Each panel's content moved by ``-shift`` (cubic spline); uncovered pixels get ``fill``."""
    from scipy import ndimage

    out = np.array(image, float, copy=True)
    shifts = {p.name: p.shift for p in result.panels}
    for panel in panels:
        dx, dy = shifts[panel.name]
        sub = np.asarray(image[panel.slices], float)
        out[panel.slices] = ndimage.shift(sub, (-dy, -dx), order=3, mode="constant", cval=fill)
        covered = ndimage.shift(np.ones_like(sub), (-dy, -dx), order=0, mode="constant", cval=0.0)
        out[panel.slices][covered < 0.5] = fill
    return out
