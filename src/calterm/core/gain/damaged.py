"""Damaged pixels and the masked median filter of a gain map.

A damaged pixel is one whose gain departs from its *neighbourhood*, in either direction, by more
than S robust standard deviations, where the standard deviation is measured locally (noise in a
gain map is not uniform: corners and pixels behind several beam stops are noisier). The reference
method compared each pixel with the mean and standard deviation of the whole detector, one-sided,
so a module with a high gain looked damaged and a low-gain damaged pixel in a low module did not.

scipy's ``median_filter`` cannot skip masked pixels; a median that ignores NaN over small windows
is a sort along a short axis, done here in row chunks to bound memory.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from calterm.errors import InputError

MAD_TO_SIGMA = 1.482602218505602  # σ of a normal distribution per median absolute deviation


def masked_median(stack: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Median along ``axis`` ignoring NaN, and the number of finite values (median NaN where 0).

    Faster than ``np.nanmedian`` for a short axis: NaN sorts last, so the median sits at a
    position computed from the count of finite values. The axis is moved last (contiguous) first.
    """
    if axis != stack.ndim - 1 and axis != -1:
        stack = np.ascontiguousarray(np.moveaxis(stack, axis, -1))
        axis = -1
    ordered = np.sort(stack, axis=axis)
    count = np.sum(np.isfinite(stack), axis=axis)
    lo = np.expand_dims(np.maximum(count - 1, 0) // 2, axis)
    hi = np.expand_dims(count // 2, axis)
    hi = np.minimum(hi, stack.shape[axis] - 1)
    a = np.take_along_axis(ordered, lo, axis=axis).squeeze(axis)
    b = np.take_along_axis(ordered, hi, axis=axis).squeeze(axis)
    median = np.where(count > 0, 0.5 * (a + b), np.nan)
    return median, count


def masked_median_filter(image: np.ndarray, use: np.ndarray, size: int, chunk_rows: int = 128,
                         exclude_centre: bool = False) -> np.ndarray:
    """Median over ``size``x``size`` windows of the pixels where ``use`` is True (NaN if none).

    ``exclude_centre`` gives the median of the neighbours only (for outlier tests: a median that
    includes the pixel follows it when it is ordinary and not when it is extreme, which narrows
    the core of the residuals relative to their tails and inflates the false alarms).
    """
    if size < 1 or size % 2 == 0:
        raise InputError(f"--filter-size must be an odd positive integer, not {size}")
    if size == 1 and not exclude_centre:
        return np.where(use, image, np.nan)
    half = size // 2
    padded = np.pad(np.where(use, image, np.nan), half, mode="constant", constant_values=np.nan)
    out = np.empty(image.shape, dtype=float)
    for r0 in range(0, image.shape[0], chunk_rows):
        r1 = min(r0 + chunk_rows, image.shape[0])
        windows = sliding_window_view(padded[r0 : r1 + 2 * half], (size, size))
        flat = windows.reshape(r1 - r0, image.shape[1], size * size)
        if exclude_centre:
            flat[..., (size * size) // 2] = np.nan
        out[r0:r1] = masked_median(flat, axis=2)[0]
    return out


def local_sigma(residual: np.ndarray, use: np.ndarray, tile: int = 32) -> np.ndarray:
    """Robust σ (1.4826 × median |residual|) per tile, spread back to pixels.

    Tiles with fewer than a quarter of their pixels usable borrow the median σ of the detector.
    """
    rows, cols = residual.shape
    nt_r, nt_c = -(-rows // tile), -(-cols // tile)
    padded = np.full((nt_r * tile, nt_c * tile), np.nan)
    padded[:rows, :cols] = np.where(use, np.abs(residual), np.nan)
    blocks = padded.reshape(nt_r, tile, nt_c, tile).transpose(0, 2, 1, 3).reshape(nt_r, nt_c, tile * tile)
    med, count = masked_median(blocks, axis=2)
    sigma = MAD_TO_SIGMA * med
    fallback = np.nanmedian(sigma[count >= tile * tile // 4]) if (count >= tile * tile // 4).any() else np.nan
    sigma = np.where(count >= tile * tile // 4, sigma, fallback)
    return np.repeat(np.repeat(sigma, tile, axis=0), tile, axis=1)[:rows, :cols]


def find_damaged(gain: np.ndarray, use: np.ndarray, sigma_limit: float = 4.0, window: int = 5
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pixels more than ``sigma_limit`` local robust σ from their ``window``-wide local median.

    Returns the damaged mask and the residual in units of σ (for the report and previews).
    """
    if not sigma_limit > 0:
        raise InputError(f"--damaged-sigma must be positive, not {sigma_limit}")
    local = masked_median_filter(gain, use, window, exclude_centre=True)
    residual = gain - local
    sigma = local_sigma(residual, use & np.isfinite(residual))
    with np.errstate(invalid="ignore", divide="ignore"):
        score = residual / sigma
    damaged = use & np.isfinite(score) & (np.abs(score) > sigma_limit)
    return damaged, score
