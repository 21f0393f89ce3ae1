"""Spotty rings: a coarse powder, where each ring is a chain of grains rather than a smooth line.

:func:`powder.render` draws rings of even height (a fine powder). Real calibrants in a
small beam, or coarse ones, give rings broken into spots of random brightness with gaps between
them: the peak search sees fewer, noisier points and the radial profile is lumpier. Here each ring
is multiplied by a random field of grains over azimuth (``grains`` per ring, each ~1° wide), then
background and Poisson noise are added as in :func:`powder.render`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from calterm.core.simulate.powder import SyntheticCase, render


def render_spotty(case: SyntheticCase, grains: int = 300) -> tuple[np.ndarray, object]:
    """The image of ``case`` with rings broken into about ``grains`` spots each (float64, gaps = -1)."""
    rings, det = render(replace(case, noise=False, background=0.0, hot_pixels=0, dead_pixels=0))
    empty, _ = render(replace(case, noise=False, peak_intensity=0.0, hot_pixels=0, dead_pixels=0))
    ai = case.geometry.to_pyfai(det)
    chi = ai.center_array(det.shape, unit="chi_rad")
    rng = np.random.default_rng(case.seed + 1000)
    # brightness of each grain: exponential (a few bright crystallites, many faint), and a third of
    # the azimuth empty; the grain index varies with azimuth, and with 2θ so rings are independent
    bins = max(8, int(grains))
    tth = ai.center_array(det.shape, unit="2th_rad")
    band = np.floor(tth / np.radians(0.5)).astype(np.int64)
    cell = (np.floor((chi + np.pi) / (2 * np.pi) * bins).astype(np.int64) % bins) + bins * (band % 997)
    table = rng.exponential(1.0, bins * 997) * (rng.random(bins * 997) > 0.33) * 1.5
    expected = np.clip(rings, 0, None) * table[cell] + np.clip(empty, 0, None)
    image = rng.poisson(expected).astype(float) if case.noise else expected
    if det.mask is not None:
        image[np.asarray(det.mask) != 0] = -1.0
    return image, det
