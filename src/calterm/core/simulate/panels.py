"""Powder images of a detector whose panels sit off their nominal places, at a known truth.

Each panel's pixels are given their true positions (shifted by ``-shift`` and rotated about the
panel centre by ``rot_deg``) and pyFAI gives 2θ and χ there, so the image is what a detector with
displaced panels records: a panel's content appears displaced by ``+shift`` (the convention of
:mod:`calterm.core.health.alignment`). The rings are drawn as in :func:`calterm.core.simulate.powder.render`
(Gaussians from a finely sampled 1D pattern, mild texture, falling background, Poisson noise).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.panel_layouts import Panel


def render_panels(geometry: PoniGeometry, detector, calibrant: str, panels: Sequence[Panel],
                  offsets: Mapping[str, tuple[float, ...]], *, peak_intensity: float = 2000.0,
                  background: float = 20.0, resolution_deg: float = 0.1, noise: bool = True,
                  seed: int = 0) -> np.ndarray:
    """The image (float64; pixels outside every panel and detector gaps = -1).

    ``offsets[name]`` is ``(dx, dy)`` or ``(dx, dy, rot_deg)``: the displacement of the panel's content
    (px, x = column, y = row) and its in-plane rotation; panels not named sit in place.
    """
    import pyFAI.calibrant

    ai = geometry.to_pyfai(detector)
    param = [float(v) for v in geometry.as_vector()[:6]]
    cal = pyFAI.calibrant.get_calibrant(calibrant)
    cal.wavelength = geometry.wavelength
    rings = np.asarray([t for t in cal.get_2th() if t is not None and np.isfinite(t)], float)
    h, w = detector.shape
    tth = np.full((h, w), np.nan)
    chi = np.zeros((h, w))
    for panel in panels:
        off = tuple(offsets.get(panel.name, (0.0, 0.0)))
        rows, cols = np.mgrid[panel.y0:panel.y1, panel.x0:panel.x1].astype(float)
        r, c = panel.true_positions((off[0], off[1]), math.radians(off[2]) if len(off) > 2 else 0.0, rows, cols)
        t3, t1, t2 = ai.calc_pos_zyx(d1=r, d2=c, param=param, use_cython=False)
        tth[panel.slices] = np.arctan2(np.hypot(t1, t2), t3)
        chi[panel.slices] = np.arctan2(t1, t2)
    inside = np.isfinite(tth)
    sigma = math.radians(resolution_deg) / 2.3548
    t = tth[inside]
    grid = np.arange(max(t.min() - 5 * sigma, 0), t.max() + 5 * sigma, sigma / 10)
    profile = np.zeros_like(grid)
    for ring in rings[(rings > grid[0] - 5 * sigma) & (rings < grid[-1] + 5 * sigma)]:
        lo, hi = np.searchsorted(grid, [ring - 6 * sigma, ring + 6 * sigma])
        profile[lo:hi] += np.exp(-0.5 * ((grid[lo:hi] - ring) / sigma) ** 2)
    texture = 1.0 + 0.25 * np.cos(2 * chi[inside] + 0.3)
    expected = peak_intensity * texture * np.interp(t, grid, profile) + background * (1.0 + 2.0 * np.exp(-t / 0.15))
    image = np.full((h, w), -1.0)
    image[inside] = np.random.default_rng(seed).poisson(expected).astype(float) if noise else expected
    if detector.mask is not None:
        image[np.asarray(detector.mask) != 0] = -1.0
    return image
