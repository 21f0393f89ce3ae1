"""Ring peaks on each panel of a detector, at sub-pixel precision, for the panel-geometry fit.

Given the current model (the common PONI geometry plus each panel's offset and rotation), every
valid pixel has a model 2θ; near each calibrant ring we measure, in short arcs (``arc_px`` long),
where the ring's intensity really peaks across the ring: a background-subtracted centroid in the
radial coordinate ``u`` (pixels from the model ring), re-centred until its window is symmetric
about the peak (a symmetric window makes the centroid of a symmetric peak unbiased; a fixed window
would pull it toward the window's centre). The point handed to the fit is the nominal pixel
position on the arc where the model says ``u`` equals the measured peak: the fit then asks which
geometry puts the ring there.

calterm's calibration has its own peak picker (``core.calibrate.ringpeaks``), but health may not
import calibrate, and that picker samples rings along rays from one centre; here the peaks must be
taken panel by panel with each panel's own model, so this is a separate, vectorised extraction
(one ``bincount`` pass per iteration over all arcs of a ring).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from calterm.core.common.panel_layouts import Panel


@dataclass(frozen=True)
class PanelModel:
    """The common geometry (pyFAI geometry and PONI parameters) and each panel's pose."""

    ai: object  # a pyFAI geometry on the image's detector
    param: tuple[float, ...]  # dist, poni1, poni2, rot1, rot2, rot3
    panels: tuple[Panel, ...]
    shifts: np.ndarray  # (n, 2): each panel's content displacement (x, y) px
    rots: np.ndarray  # (n,): in-plane rotation (rad)

    def positions(self, i: int, rows, cols):
        return self.panels[i].true_positions(tuple(self.shifts[i]), float(self.rots[i]), rows, cols)

    def tth(self, i: int, rows, cols, param=None) -> np.ndarray:
        from calterm.core.common.geometry import tth_at

        r, c = self.positions(i, rows, cols)
        return tth_at(self.ai, r, c, self.param if param is None else param)


@dataclass(frozen=True)
class RingPoints:
    """Ring peaks: nominal pixel positions (row, col), their panel and ring, expected 2θ (rad),
    the estimated radial uncertainty (px) and the peak's RMS width (px)."""

    rows: np.ndarray
    cols: np.ndarray
    panel: np.ndarray
    ring: np.ndarray
    tth: np.ndarray
    sigma_px: np.ndarray
    width_px: np.ndarray

    @property
    def size(self) -> int:
        return int(self.rows.size)

    def subset(self, keep: np.ndarray) -> RingPoints:
        return RingPoints(*(getattr(self, f)[keep] for f in ("rows", "cols", "panel", "ring", "tth", "sigma_px",
                                                            "width_px")))


def _grad_px(model: PanelModel, i: int, rows, cols, tth0) -> tuple[np.ndarray, np.ndarray]:
    """d(2θ)/d(row) and d(2θ)/d(col) at nominal positions (a 0.5 px finite difference)."""
    h = 0.5
    return ((model.tth(i, rows + h, cols) - tth0) / h, (model.tth(i, rows, cols + h) - tth0) / h)


def _group_sums(groups: np.ndarray, n: int, *values: np.ndarray) -> list[np.ndarray]:
    return [np.bincount(groups, weights=v, minlength=n) for v in values]


def extract_ring_points(image: np.ndarray, valid: np.ndarray, model: PanelModel, rings_tth: Sequence[float], *,
                        window_px: float = 8.0, half_px: float = 3.0, arc_px: float = 12.0,
                        min_snr: float = 6.0, pixel_m: float = 1e-4) -> RingPoints:
    """Peaks of every ring on every panel (see the module docstring).

    ``window_px``: how far from the model ring a peak is looked for; ``half_px``: the half-width of
    the centroid window (about 2.5 ring sigmas); rings closer to a neighbour than the window on a
    panel are skipped (their peaks would merge).
    """
    rings = np.asarray(rings_tth, float)
    out: dict[str, list] = {k: [] for k in ("rows", "cols", "panel", "ring", "tth", "sigma_px", "width_px")}
    band = max(2.0, half_px)  # background band beyond the centroid window (px)
    for i, panel in enumerate(model.panels):
        rr, cc = np.nonzero(valid[panel.slices])
        if rr.size < 50:
            continue
        rows, cols = (rr + panel.y0).astype(float), (cc + panel.x0).astype(float)
        values = np.asarray(image[rows.astype(np.intp), cols.astype(np.intp)], float)
        tth = model.tth(i, rows, cols)
        g_r, g_c = _grad_px(model, i, rows, cols, tth)
        g = np.hypot(g_r, g_c)
        r_true, c_true = model.positions(i, rows, cols)
        t3, t1, t2 = model.ai.calc_pos_zyx(d1=r_true, d2=c_true, param=list(model.param), use_cython=False)
        chi = np.arctan2(t1, t2)
        lo, hi = float(tth.min()), float(tth.max())
        g_med = float(np.median(g))
        for k, ring in enumerate(rings):
            if not (lo < ring < hi):
                continue
            others = np.delete(rings, k)
            u = (tth - ring) / g
            near = np.flatnonzero(np.abs(u) < window_px + half_px + band)
            if near.size < 30:
                continue
            radius_px = max(ring / g_med, arc_px)  # rough ring radius in pixels (2θ / (d2θ/dpx))
            dchi = arc_px / radius_px
            ch = chi[near]
            ch = np.mod(ch - ch.min() + 1e-9, 2 * math.pi)  # arcs must not straddle ±π
            groups = np.floor(ch / dchi).astype(np.intp)
            n = int(groups.max()) + 1
            points = _centroids(u[near], values[near], groups, n, window_px, half_px, band, radius_px)
            m, ok, snr, width = points
            # a neighbouring ring inside what an arc reads (search window plus centroid and background
            # bands, plus its own half-width) would pull the peak: such arcs are left out, arc by arc,
            # since on a tilted detector the rings' spacing in pixels changes along the ring
            if others.size:
                g_arc = np.bincount(groups, weights=g[near], minlength=n) / np.maximum(np.bincount(groups, minlength=n), 1)
                spacing = np.min(np.abs(others - ring)) / np.maximum(g_arc, 1e-12)
                ok &= spacing > window_px + 2 * half_px + band
            keep = np.flatnonzero(ok & (snr >= min_snr))
            if keep.size == 0:
                continue
            # arc centroid (nominal px) of the pixels inside the final window, weighted by signal
            d = u[near] - m[groups]
            inner = np.abs(d) < half_px
            wts = np.where(inner, 1.0, 0.0)
            s_w, s_r, s_c = _group_sums(groups, n, wts, wts * rows[near], wts * cols[near])
            pr, pc = s_r[keep] / s_w[keep], s_c[keep] / s_w[keep]
            # move each arc's centroid across the ring to where the model puts u = m (the centroid of a
            # curved arc lies inside it)
            t0 = model.tth(i, pr, pc)
            gr, gc = _grad_px(model, i, pr, pc, t0)
            gg = gr * gr + gc * gc
            step = (ring + m[keep] * np.sqrt(gg) - t0) / gg
            pr, pc = pr + step * gr, pc + step * gc
            out["rows"].append(pr)
            out["cols"].append(pc)
            out["panel"].append(np.full(keep.size, i))
            out["ring"].append(np.full(keep.size, k))
            out["tth"].append(np.full(keep.size, ring))
            out["sigma_px"].append(np.maximum(width[keep], 0.3) / snr[keep])
            out["width_px"].append(width[keep])
    if not out["rows"]:
        empty = np.zeros(0)
        return RingPoints(empty, empty, empty.astype(int), empty.astype(int), empty, empty, empty)
    return RingPoints(*(np.concatenate(out[f]) for f in ("rows", "cols", "panel", "ring", "tth", "sigma_px",
                                                          "width_px")))


def _centroids(u, values, groups, n, window_px, half_px, band, radius_px: float, iterations: int = 6):
    """Per arc: peak position ``m`` (px from the model ring), acceptance, SNR and RMS width.

    An arc of fixed χ holds more pixels at larger radius (their number grows as the radius), so a plain
    centroid sits outward by about σ²/R: 0.005-0.008 px on synthetic quadrants, the same sign on every
    panel, which the fit took for panels pushed outward. Each pixel is weighted by R / (R + d)."""
    # start: the brightest 1-px bin of each arc within the window
    ubin = np.floor(u + window_px).astype(np.intp)
    nb = int(2 * window_px) + 1
    inwin = (ubin >= 0) & (ubin < nb)
    idx = groups[inwin] * nb + ubin[inwin]
    sums = np.bincount(idx, weights=values[inwin], minlength=n * nb).reshape(n, nb)
    cnt = np.bincount(idx, minlength=n * nb).reshape(n, nb)
    mean = np.where(cnt > 0, sums / np.maximum(cnt, 1), -np.inf)
    m = np.argmax(mean, axis=1) + 0.5 - window_px
    for _ in range(iterations):
        d = u - m[groups]
        inner = np.abs(d) < half_px
        outer = (np.abs(d) >= half_px) & (np.abs(d) < half_px + band)
        o = outer.astype(float)
        s0, s1, s2, sy, sdy = _group_sums(groups, n, o, o * d, o * d * d, o * values, o * d * values)
        det = s0 * s2 - s1 * s1
        ok_bg = (det > 1e-9) & (s0 >= 6)
        b = np.where(ok_bg, (s0 * sdy - s1 * sy) / np.where(ok_bg, det, 1.0), 0.0)
        a = np.where(ok_bg, (sy - b * s1) / np.maximum(s0, 1), 0.0)
        w = np.where(inner, values - a[groups] - b[groups] * d, 0.0)
        wp = np.clip(w, 0.0, None) * (radius_px / (radius_px + d))
        sw, swd = _group_sums(groups, n, wp, wp * d)
        good = sw > 0
        m = m + np.where(good, swd / np.where(good, sw, 1.0), 0.0)
    d = u - m[groups]
    inner = np.abs(d) < half_px
    outer = (np.abs(d) >= half_px) & (np.abs(d) < half_px + band)
    wp = np.where(inner, np.clip(values - a[groups] - b[groups] * d, 0.0, None), 0.0) * (radius_px / (radius_px + d))
    sw, swd2, sn = _group_sums(groups, n, wp, wp * d * d, inner.astype(float))
    resid = np.where(outer, values - a[groups] - b[groups] * d, 0.0)
    so, sr2 = _group_sums(groups, n, outer.astype(float), resid * resid)
    noise = np.sqrt(sr2 / np.maximum(so - 2, 1))  # background scatter per pixel
    snr = sw / np.maximum(noise * np.sqrt(np.maximum(sn, 1)), 1e-12)
    width = np.sqrt(swd2 / np.where(sw > 0, sw, 1.0))
    # an arc cut by the panel's edge (or a gap) sees one side of the peak or of its background only:
    # its centroid would be pulled inward, so both sides must hold comparable numbers of pixels
    lo_in, hi_in, lo_out, hi_out = _group_sums(groups, n, (inner & (d < 0)).astype(float),
                                               (inner & (d >= 0)).astype(float), (outer & (d < 0)).astype(float),
                                               (outer & (d >= 0)).astype(float))
    balanced = (np.minimum(lo_in, hi_in) >= 0.6 * np.maximum(lo_in, hi_in)) & \
        (np.minimum(lo_out, hi_out) >= 0.6 * np.maximum(lo_out, hi_out))
    ok = ok_bg & balanced & (sw > 0) & (np.abs(m) < window_px) & (sn >= 4) & (so >= 6)
    return m, ok, snr, width
