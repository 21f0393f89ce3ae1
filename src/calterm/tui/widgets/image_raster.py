"""The detector image sampled onto a terminal's display grid: the arithmetic every rendering mode shares.

A view is a :class:`Window`: the image position of its top-left display pixel and the image pixels
per display pixel (square: rings stay round). A display pixel is half a cell in half-block mode, a
braille dot, or a graphics pixel. Sampling takes the max log intensity over each display pixel's
block from the image's cached reduction levels (:attr:`PreviewImage.levels`, numpy reshape), with
numpy ``reduceat`` over a level at most twice finer than the view, so a redraw costs about the number of
display pixels, whatever the image size. No Textual here: the renderers and the benchmark use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calterm.tui.preview_data import PreviewImage, RingModel


@dataclass(frozen=True)
class Window:
    """``cols`` x ``rows`` display pixels, ``step`` image pixels each, from (x0, y0): the top-left
    corner of display pixel 0 in edge coordinates (image pixel j spans [j, j + 1), so image position
    x, with integers at pixel centres, is x + 0.5 here)."""

    x0: float
    y0: float
    step: float
    cols: int
    rows: int

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Image x of each display column's centre and y of each row's centre."""
        return (self.x0 + (np.arange(self.cols) + 0.5) * self.step - 0.5,
                self.y0 + (np.arange(self.rows) + 0.5) * self.step - 0.5)

    def to_display(self, x: float, y: float) -> tuple[int, int]:
        """(column, row) of the display pixel holding image position (x, y) (may be outside)."""
        return math.floor((x + 0.5 - self.x0) / self.step), math.floor((y + 0.5 - self.y0) / self.step)

    def to_image(self, col: float, row: float) -> tuple[float, float]:
        """Image position of display position (col, row) (0.5: the centre of the first pixel)."""
        return self.x0 + col * self.step - 0.5, self.y0 + row * self.step - 0.5


def fit_step(shape: tuple[int, int], cols: int, rows: int, zoom: float = 1.0) -> float:
    """Image pixels per display pixel that fit the whole image in cols x rows, divided by ``zoom``."""
    h, w = shape
    fit = max(w / max(cols, 1), h / max(rows, 1))
    return max(fit / max(zoom, 1e-9), 0.25)


def window_for(shape: tuple[int, int], cols: int, rows: int, zoom: float = 1.0,
               cursor: tuple[float, float] | None = None) -> Window:
    """The view: the whole image centred at zoom 1, else the region around the cursor."""
    h, w = shape
    step = fit_step(shape, cols, rows, zoom)
    cx, cy = cursor if (zoom > 1 and cursor is not None) else ((w - 1) / 2, (h - 1) / 2)
    return Window(cx - cols * step / 2 + 0.5, cy - rows * step / 2 + 0.5, step, cols, rows)


def _blocks(start: float, step: float, n: int, size: int, scale: int) -> tuple[np.ndarray, int, int, np.ndarray]:
    """reduceat starts (relative to ``first``), the crop [first, end) and which blocks are inside."""
    edges = np.floor((start + np.arange(n + 1) * step) / scale).astype(np.int64)
    inside = (edges[1:] > 0) & (edges[:-1] < size)
    lo = np.clip(edges[:-1], 0, size - 1)
    first = int(lo[0])
    end = int(np.clip(edges[-1], first + 1, size))
    return lo - first, first, end, inside


def sample(image: PreviewImage, win: Window) -> tuple[np.ndarray, np.ndarray]:
    """(values, inside): the max log intensity under each display pixel, and where the display
    pixel is on the image (values are 0 elsewhere)."""
    levels = image.levels
    k = int(np.clip(math.floor(math.log2(max(win.step, 1.0))), 0, len(levels) - 1))
    level, scale = levels[k], 2**k
    rs, r0, r1, rin = _blocks(win.y0, win.step, win.rows, level.shape[0], scale)
    cs, c0, c1, cin = _blocks(win.x0, win.step, win.cols, level.shape[1], scale)
    crop = level[r0:r1, c0:c1]
    rs, cs = np.minimum(rs, crop.shape[0] - 1), np.minimum(cs, crop.shape[1] - 1)
    values = np.maximum.reduceat(np.maximum.reduceat(crop, rs, axis=0), cs, axis=1)
    inside = rin[:, None] & cin[None, :]
    return np.where(inside, values, 0.0).astype(np.float32), inside


def view_range(values: np.ndarray, inside: np.ndarray, lo_pct: float = 5.0, hi_pct: float = 99.7) -> tuple[float, float]:
    """The log intensities shown darkest and brightest: percentiles of the view's own pixels.

    A zoomed view of one ring's neighbourhood has another range than the whole image; the view's
    own percentiles put its background dark and its rings bright at every zoom."""
    valid = values[inside & (values > 0)]
    if valid.size < 4:
        return 0.0, 1.0
    lo, hi = np.percentile(valid, [lo_pct, hi_pct])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def normalised(values: np.ndarray, display_range: tuple[float, float]) -> np.ndarray:
    """Log intensities mapped to 0 (darkest) .. 1 (brightest) over ``display_range``."""
    lo, hi = display_range
    return np.clip((values - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)


def ring_mask(rings: RingModel, win: Window, min_gap: float = 2.0) -> np.ndarray:
    """Display pixels where the predicted ring index changes between neighbours (the ring contours),
    for the rings at least ``min_gap`` display pixels from the ring before."""
    xc, yc = win.centres()
    tth = rings.tth_at(np.broadcast_to(xc[None, :], (win.rows, win.cols)),
                       np.broadcast_to(yc[:, None], (win.rows, win.cols)))
    steps = np.concatenate([np.abs(np.diff(tth, axis=0)).ravel(), np.abs(np.diff(tth, axis=1)).ravel()])
    steps = steps[np.isfinite(steps)]
    per_pixel = float(np.median(steps)) if steps.size else 0.0
    ring_tth = rings.ring_tth
    crowded = np.nonzero(np.diff(ring_tth) < min_gap * per_pixel)[0]
    ring_tth = ring_tth[: crowded[0] + 1] if crowded.size else ring_tth
    index = np.searchsorted(ring_tth, np.nan_to_num(tth, nan=-1.0)).astype(np.int32)
    index[np.isnan(tth)] = -1  # off the detector; past the last ring drawn is one more region
    edge = np.zeros(index.shape, dtype=bool)
    edge[:, 1:] |= (index[:, 1:] != index[:, :-1]) & (index[:, 1:] >= 0) & (index[:, :-1] >= 0)
    edge[1:, :] |= (index[1:, :] != index[:-1, :]) & (index[1:, :] >= 0) & (index[:-1, :] >= 0)
    return edge
