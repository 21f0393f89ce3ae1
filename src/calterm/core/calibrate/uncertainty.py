"""1-σ errors of the refined parameters that hold when peak errors are correlated.

The textbook covariance, (JᵀJ)⁻¹·s² with s² = Σr²/(n−p), assumes every control point errs on its
own. They do not: a ring's points share its background, its neighbour's tail and its texture, and
points next to each other on one arc share pixels. With 20,000 points it divides the error by
√20,000 where the independent pieces are a few hundred, so it reported rot2 to 0.08 mrad on a fit
0.33 mrad off (issue 12).

We use a delete-one-block jackknife with blocks = (ring, azimuthal sector): errors shared inside
a block move the estimate when that block leaves, so they count once per block, not once per
point. Each deletion is one Gauss-Newton step from the solution on the linearised problem,
θ₋b − θ = −(JᵀWJ − J_bᵀW_bJ_b)⁻¹ J_bᵀW_b r_b, with W the robust (soft-L1) weights at the solution:
exact for a linear model, p×p solves only, no refit (milliseconds for hundreds of blocks).
The reported σ is the larger of the jackknife's and the textbook one, so it never claims more
precision than independent points could give.
"""

from __future__ import annotations

import numpy as np

METHOD = ("block jackknife (ring x 8 azimuthal sectors), at least the residual covariance over the effective "
          "number of points, plus a 0.003 px common radial bias")
SECTORS = 8
# The spoke search's own radial bias, common to a whole ring or detector, that no resampling sees:
# the binned noisy ramp case's distance was 7σ off without it (3.3 µm for σ 0.48 µm: a common bias of
# ~0.0026 px of radius); extraction about a prediction 0.1-0.3 px off measured 0.003-0.011 px
BIAS_FLOOR_PX = 0.003
# A joint fit's images at other distances do not share one bias: the extraction's bias follows the
# rings' width and sub-pixel phase in pixels, which change with the distance. A bias common to all
# images cancels out of a linked-distance fit's wavelength; their differences do not. Measured against
# the true geometry on the noise-free 3-image test series (LaB6, 250 µm pixels, 200/300/400 mm): image
# biases -0.0018, -0.0005, -0.0005 px, and λ +2.0e-5 off, 4.7σ with the common floor alone
GROUP_BIAS_PX = 0.0015
MIN_BLOCKS = 6  # fewer and the jackknife's variance is itself too uncertain: textbook σ only


def block_labels(ring: np.ndarray, rows: np.ndarray, cols: np.ndarray, beam_xy: tuple[float, float]) -> np.ndarray:
    """One integer per point: its ring and its 45° sector of azimuth about the beam."""
    phi = np.arctan2(rows - beam_xy[1], cols - beam_xy[0])
    sector = np.floor((phi + np.pi) / (2 * np.pi) * SECTORS).astype(int) % SECTORS
    return ring.astype(int) * SECTORS + sector


def textbook_sigma(J: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(JᵀJ)⁻¹·Σr²/(n−p): right only for independent errors."""
    n, p = J.shape
    if n <= p:
        return np.full(p, np.nan)
    cov = np.linalg.pinv(J.T @ J) * float(np.sum(r**2) / (n - p))
    return np.sqrt(np.maximum(np.diag(cov), 0.0))


def jackknife_sigma(J: np.ndarray, r: np.ndarray, blocks: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Delete-one-block jackknife σ of the parameters of the linearised weighted fit.

    ``J`` is ∂r/∂θ at the solution (n×p), ``r`` the residuals, ``weights`` the robust weights of
    the rows (None = 1). NaN when there are too few blocks.
    """
    n, p = J.shape
    w = np.ones(n) if weights is None else weights
    labels, inverse = np.unique(blocks, return_inverse=True)
    B = labels.size
    if max(MIN_BLOCKS, p + 1) > B:
        return np.full(p, np.nan)
    Jw = J * w[:, None]
    H = J.T @ Jw
    g = Jw * r[:, None]  # per-row contributions to Jᵀ W r
    # per-block sums by bincount, one column pair at a time (np.add.at over n×p×p was 5x slower)
    Hb = np.empty((B, p, p))
    for i in range(p):
        for j in range(i, p):
            Hb[:, i, j] = Hb[:, j, i] = np.bincount(inverse, J[:, i] * Jw[:, j], minlength=B)
    gb = np.column_stack([np.bincount(inverse, g[:, i], minlength=B) for i in range(p)])
    G = g.sum(axis=0)  # ~0 at a least-squares solution; kept so the steps are exact
    try:
        steps = -np.linalg.solve(H[None] - Hb, (G[None] - gb)[..., None])[..., 0]
    except np.linalg.LinAlgError:
        steps = -np.stack([np.linalg.lstsq(H - Hb[b], G - gb[b], rcond=None)[0] for b in range(B)])
    steps = steps - (-np.linalg.lstsq(H, G, rcond=None)[0])[None, :]  # relative to the full fit
    centred = steps - steps.mean(axis=0)
    return np.sqrt((B - 1) / B * np.sum(centred**2, axis=0))


def neighbour_correlation(r: np.ndarray, ring: np.ndarray, phi: np.ndarray) -> float:
    """Correlation of the residuals of azimuthal neighbours on the same ring (0 when independent)."""
    order = np.lexsort((phi, ring))
    ro, ko = r[order], ring[order]
    same = ko[1:] == ko[:-1]
    if same.sum() < 10:
        return 0.0
    centred = ro - np.mean(ro)
    a, b = centred[:-1][same], centred[1:][same]
    denom = float(np.sqrt(np.sum(a**2) * np.sum(b**2)))
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def parameter_sigma(J: np.ndarray, r: np.ndarray, blocks: np.ndarray, weights: np.ndarray | None = None,
                    rho: float = 0.0) -> np.ndarray:
    """The σ calterm reports: the larger of the block jackknife's and the textbook σ scaled to the
    effective number of independent points, n·(1−ρ)/(1+ρ) for a neighbour correlation ρ (the AR(1)
    rule: points that err together along a ring count as fewer)."""
    jack = jackknife_sigma(J, r, blocks, weights)
    rho = float(np.clip(rho, 0.0, 0.98))
    book = textbook_sigma(J, r) * np.sqrt((1 + rho) / (1 - rho))
    return np.where(np.isfinite(jack), np.fmax(jack, book), book)


def systematic_sigma(J: np.ndarray, radial_rad: np.ndarray, phi: np.ndarray,
                     groups: np.ndarray | None = None) -> np.ndarray:
    """What a radial bias of BIAS_FLOOR_PX common to every point moves each parameter by, for a bias
    the same all round and one varying as cos φ or sin φ (a background ramp across the detector),
    added in quadrature. ``radial_rad`` is each point's 2θ per pixel of radius (the residual one
    pixel of radial shift makes). No resampling sees an error every point shares.

    ``groups`` (one label per point: the image, in a joint fit) adds a bias of GROUP_BIAS_PX of each
    group's own, independent of the others': see GROUP_BIAS_PX."""
    pinv = np.linalg.pinv(J)
    shifts = [pinv @ (BIAS_FLOOR_PX * radial_rad * f) for f in (np.ones_like(phi), np.cos(phi), np.sin(phi))]
    if groups is not None:
        labels = np.asarray(groups)
        shifts += [pinv @ (GROUP_BIAS_PX * radial_rad * (labels == g)) for g in np.unique(labels)]
    return np.sqrt(np.sum(np.array(shifts) ** 2, axis=0))


def point_sigma(J: np.ndarray, r: np.ndarray, ring: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                beam_xy: tuple[float, float], radial_rad: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """:func:`parameter_sigma` for control points on rings about ``beam_xy``, with the systematic
    floor of :func:`systematic_sigma` in quadrature."""
    phi = np.arctan2(rows - beam_xy[1], cols - beam_xy[0])
    rho = neighbour_correlation(r, ring, phi)
    statistical = parameter_sigma(J, r, block_labels(ring, rows, cols, beam_xy), weights, rho)
    return np.sqrt(statistical**2 + systematic_sigma(J, radial_rad, phi) ** 2)


_UNITS = {"dist": "m", "poni1": "m", "poni2": "m", "rot1": "rad", "rot2": "rad", "rot3": "rad", "wavelength": "m"}


def sigma_comments(sigma: dict[str, float]) -> list[str]:
    """Comment lines for the PONI file: each free parameter's 1σ and how it was estimated (pyFAI
    skips ``#`` lines, so the file stays one it reads)."""
    if not sigma:
        return []
    return [f"1-sigma errors ({METHOD}):"] + [f"  sigma_{name} = {value:.3e} {_UNITS.get(name, '')}".rstrip()
                                             for name, value in sigma.items()]
