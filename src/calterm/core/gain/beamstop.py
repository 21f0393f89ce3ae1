"""Find a beam stop's shadow in an amorphous-scattering image, against the expected profile.

The shadow is a disc around the direct beam plus an arm. The reference level of each 2θ bin is
its 75th percentile (an arm covers far less than a quarter of a ring), carried inwards as an
envelope that may fall by at most a factor e per tenth of the 2θ range: a smooth amorphous
profile falls more slowly than that, a beam-stop edge much faster. Bins from the centre outwards
whose level is below ``threshold`` x envelope are the disc (every pixel masked, the beam stop
covers the direct beam); elsewhere single pixels below ``threshold`` x envelope are the arm.
Partial shadows above the threshold are left to the gain step, where each position's gain is
compared with the median over positions (see ``gainmap``).
"""

from __future__ import annotations

import numpy as np

from calterm.core.gain.profile import bin_quantile


def reference_envelope(centres: np.ndarray, level: np.ndarray, decay_deg: float) -> np.ndarray:
    """``level`` carried from high 2θ inwards, never falling faster than e per ``decay_deg``."""
    env = np.array(level, dtype=float)
    step = np.exp(-(centres[1] - centres[0]) / decay_deg)
    last = np.nan
    for i in range(len(env) - 1, -1, -1):
        carried = last * step if np.isfinite(last) else np.nan
        if not np.isfinite(env[i]) or (np.isfinite(carried) and carried > env[i]):
            env[i] = carried
        last = env[i]
    return env


def find_shadow(tth_deg: np.ndarray, index: np.ndarray, corrected: np.ndarray, usable: np.ndarray,
                edges: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Pixels of one position in the beam-stop shadow (True = shadowed); ``index`` from ``bin_index``."""
    centres = 0.5 * (edges[:-1] + edges[1:])
    level, counts = bin_quantile(index, corrected, usable, len(centres), 0.75)
    filled = counts > 0
    if not filled.any():
        return np.zeros(tth_deg.shape, bool)
    span = centres[filled].max() - centres[filled].min()
    env = reference_envelope(centres, np.where(filled, level, np.nan), max(0.1 * span, 1e-6))
    shadowed_bin = filled & (level < threshold * env)
    disc_edge = None
    for i in np.nonzero(filled)[0]:  # from the centre outwards, while bins are in shadow
        if not shadowed_bin[i]:
            break
        disc_edge = edges[i + 1]
    expected = np.interp(tth_deg, centres[np.isfinite(env)], env[np.isfinite(env)])
    shadow = usable & (corrected < threshold * expected)
    if disc_edge is not None:
        shadow |= tth_deg <= disc_edge
    return shadow
