"""The detector image in a terminal: plotext braille dots over a log image, with predicted rings,
control points and a keyboard cursor.

A terminal cell holds 2x4 braille dots; each dot shows a block of ``bin`` x ``bin`` pixels (square,
so rings stay round). A dot is lit where log intensity stands out of its local background (a
median filter), in two levels; that reads in 16 colours and in monochrome, unlike a grey ramp.
``zoom`` 1 fits the image; larger values magnify the region around the cursor (the terminal form of MuscleX's
"approximate click, then precise click"). Clicks where the terminal sends them post
:class:`ImagePreview.Clicked` with image coordinates.
"""

from __future__ import annotations

import math

import numpy as np
from textual import events
from textual.message import Message
from textual_plotext import PlotextPlot

from calterm.tui.preview_data import PreviewImage, RingModel

STRONG, WEAK, RING, POINT, CURSOR, MARK = "white", "blue", "magenta", "green", "red", "yellow"


class ImagePreview(PlotextPlot):
    """Log image + predicted rings + points + cursor; pure display, the screen owns the state."""

    DEFAULT_CSS = """
    ImagePreview { width: 1fr; height: 1fr; min-height: 6; border: round $panel; }
    ImagePreview:focus { border: round $accent; }
    """
    can_focus = True

    class Clicked(Message):
        """The user clicked the preview at image position (x, y)."""

        def __init__(self, preview: ImagePreview, x: float, y: float) -> None:
            super().__init__()
            self.preview, self.x, self.y = preview, x, y

    def __init__(self, *, zoom: float = 1.0, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.image: PreviewImage | None = None
        self.rings: RingModel | None = None
        self.points: list[tuple[float, float, int | None]] = []
        self.marked: tuple[float, float] | None = None
        self.cursor: tuple[float, float] | None = None
        self.zoom = zoom
        self.message = "no image"
        self._window: tuple[float, float, float] | None = None  # x0, y0, pixels per dot

    # --- state setters (each redraws) ---------------------------------------------------------
    def show(self, image: PreviewImage | None = None, rings: RingModel | None = None, points=None,
             cursor=None, marked=None, message: str | None = None) -> None:
        if image is not None:
            if self.image is not None and image.key != self.image.key:
                self.rings, self.marked = None, None  # they belonged to the image shown before
            self.image = image
        if rings is not None:
            self.rings = rings
        if points is not None:
            self.points = list(points)
        if cursor is not None:
            self.cursor = cursor
        if marked is not None:
            self.marked = marked if marked != () else None
        if message is not None:
            self.message = message
        self.refresh()

    def pixels_per_dot(self) -> float:
        """Image pixels under one braille dot at the current size and zoom (the cursor's step)."""
        if self.image is None or self.size.width == 0:
            return 1.0
        h, w = self.image.shape
        fit = max(w / (2 * max(self.size.width, 1)), h / (4 * max(self.size.height, 1)))
        return max(fit / self.zoom, 0.25)

    # --- drawing ------------------------------------------------------------------------------
    def render(self):
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        plt.xaxes(False, False)
        plt.yaxes(False, False)
        plt.xticks([])
        plt.yticks([])
        if self.image is None or self.size.width < 4 or self.size.height < 2:
            plt.title(self.message)
            return super().render()
        cols, rows = 2 * self.size.width, 4 * self.size.height
        step = self.pixels_per_dot()
        h, w = self.image.shape
        cx, cy = (self.cursor if (self.zoom > 1 and self.cursor) else ((w - 1) / 2, (h - 1) / 2))
        x0, y0 = cx - cols * step / 2, cy - rows * step / 2
        self._window = (x0, y0, step)
        strong, weak = self._dots(x0, y0, step, cols, rows)
        for mask, color in ((weak, WEAK), (strong, STRONG)):
            r, c = np.nonzero(mask)
            if r.size:
                plt.scatter((x0 + (c + 0.5) * step).tolist(), (-(y0 + (r + 0.5) * step)).tolist(),
                            marker="braille", color=color)
        if self.rings is not None and self.rings.image_key in ((), self.image.key):  # this image's rings only
            r, c = self._ring_dots(x0, y0, step, cols, rows)
            if r.size:
                plt.scatter((x0 + (c + 0.5) * step).tolist(), (-(y0 + (r + 0.5) * step)).tolist(),
                            marker="braille", color=RING)
        if self.points:
            xs = [p[0] for p in self.points]
            ys = [-p[1] for p in self.points]
            plt.scatter(xs, ys, marker="x", color=POINT)
        if self.marked is not None:
            plt.scatter([self.marked[0]], [-self.marked[1]], marker="o", color=MARK)
        if self.cursor is not None:
            plt.scatter([self.cursor[0]], [-self.cursor[1]], marker="+", color=CURSOR)
        plt.xlim(x0, x0 + cols * step)
        plt.ylim(-(y0 + rows * step), -y0)
        return super().render()

    def _binned(self, x0: float, y0: float, step: float, cols: int, rows: int) -> np.ndarray:
        """Max of the log image over each dot's pixel block (zeros outside the image)."""
        data = self.image.log_data  # type: ignore[union-attr]
        h, w = data.shape
        xs = np.floor(x0 + np.arange(cols) * step).astype(int)
        ys = np.floor(y0 + np.arange(rows) * step).astype(int)
        b = max(int(math.ceil(step)), 1)
        out = np.zeros((rows, cols), dtype=np.float32)
        for dy in range(b):
            yy = ys + dy
            vy = (yy >= 0) & (yy < h)
            yy = np.clip(yy, 0, h - 1)
            for dx in range(b):
                xx = xs + dx
                vx = (xx >= 0) & (xx < w)
                vals = data[yy[:, None], np.clip(xx, 0, w - 1)[None, :]]
                np.maximum(out, np.where(vy[:, None] & vx[None, :], vals, 0), out=out)
        return out

    def _dots(self, x0, y0, step, cols, rows) -> tuple[np.ndarray, np.ndarray]:
        from scipy import ndimage

        binned = self._binned(x0, y0, step, cols, rows)
        excess = binned - ndimage.median_filter(binned, size=7, mode="nearest")
        valid = binned > 0
        if not valid.any():
            return np.zeros_like(valid), np.zeros_like(valid)
        spread = float(np.median(np.abs(excess[valid]))) * 1.4826 + 1e-6
        strong = valid & (excess > 6 * spread)
        weak = valid & (excess > 3 * spread) & ~strong
        return strong, weak

    def _ring_dots(self, x0, y0, step, cols, rows) -> tuple[np.ndarray, np.ndarray]:
        """Dots where the ring index changes between neighbours: the predicted ring contours."""
        assert self.rings is not None
        xc = x0 + (np.arange(cols) + 0.5) * step
        yc = y0 + (np.arange(rows) + 0.5) * step
        tth = self.rings.tth_at(xc[None, :].repeat(rows, 0), yc[:, None].repeat(cols, 1))
        ring_tth = self._resolved_rings(tth)
        index = np.searchsorted(ring_tth, np.nan_to_num(tth, nan=-1.0)).astype(np.int32)
        index[np.isnan(tth) | (index >= ring_tth.size)] = -1
        edge = np.zeros(index.shape, dtype=bool)
        edge[:, 1:] |= (index[:, 1:] != index[:, :-1]) & (index[:, 1:] >= 0) & (index[:, :-1] >= 0)
        edge[1:, :] |= (index[1:, :] != index[:-1, :]) & (index[1:, :] >= 0) & (index[:-1, :] >= 0)
        return np.nonzero(edge)

    def _resolved_rings(self, tth: np.ndarray) -> np.ndarray:
        """The rings drawn: in order, while each is at least three dots from the one before."""
        assert self.rings is not None
        steps = np.concatenate([np.abs(np.diff(tth, axis=0)).ravel(), np.abs(np.diff(tth, axis=1)).ravel()])
        steps = steps[np.isfinite(steps)]
        per_dot = float(np.median(steps)) if steps.size else 0.0
        rings = self.rings.ring_tth
        gaps = np.diff(rings)
        crowded = np.nonzero(gaps < 3 * per_dot)[0]
        return rings[: crowded[0] + 1] if crowded.size else rings

    # --- mouse (optional: the keyboard does everything) ----------------------------------------
    def on_click(self, event: events.Click) -> None:
        if self._window is None:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x0, y0, step = self._window
        x = x0 + (offset.x + 0.5) * 2 * step
        y = y0 + (offset.y + 0.5) * 4 * step
        self.post_message(self.Clicked(self, float(x), float(y)))
