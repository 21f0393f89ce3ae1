"""What the image previews draw, prepared in a worker: the log image and the predicted rings.

Both need the core (image reading, pyFAI's detector and geometry), so they are computed off the
event loop and handed to the widgets as plain arrays. Predicted rings are a 2θ map sampled every
``step`` pixels; the widget turns it into contours at whatever zoom it shows, with no pyFAI call
while drawing. A ring model names the image it was computed for (``image_key``), so a preview never
draws one image's rings over another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.common.geometry import PoniGeometry

# numpy is imported in the functions that compute: the first screen shows before numpy (~0.1 s) is loaded
if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class PreviewImage:
    """The image as displayed: log(1 + I) as float32, invalid pixels at 0.

    ``levels`` (the image max-reduced over 2, 4, 8, ... pixels) and ``display_range`` are computed once
    per image, in the worker that reads it (:meth:`prepare`): a redraw then only samples a level
    small enough for the view, so it costs the same on a 4 Mpx image as on a small one.
    """

    key: tuple
    log_data: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.log_data.shape  # type: ignore[return-value]

    @cached_property
    def levels(self) -> tuple[np.ndarray, ...]:
        """Level k is the log image max-reduced over 2**k x 2**k blocks (numpy reshape; odd edges
        padded with 0), down to a few pixels. A max, not a mean: a powder ring 2 px wide is 2 px of
        a 27 px block at 80x24, which a mean dilutes into the noise; the max keeps every block the
        ring crosses bright and the blocks between rings dark."""
        import numpy as np

        out = [np.ascontiguousarray(self.log_data, dtype=np.float32)]
        while min(out[-1].shape) > 8:
            a = out[-1]
            h, w = a.shape
            if h % 2 or w % 2:
                a = np.pad(a, ((0, h % 2), (0, w % 2)))
            out.append(a.reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2).max(axis=(1, 3)))
        return tuple(out)

    @cached_property
    def display_range(self) -> tuple[float, float]:
        """Log intensities shown darkest and brightest: the 1st and 99.7th percentiles of the valid
        pixels of a level of at most ~250 000 pixels (fast, and close to the full image's)."""
        import numpy as np

        level = next((a for a in self.levels if a.size <= 250_000), self.levels[-1])
        valid = level[level > 0]
        if valid.size == 0:
            return 0.0, 1.0
        lo, hi = np.percentile(valid, [1.0, 99.7])
        return float(lo), float(hi if hi > lo else lo + 1.0)

    def prepare(self) -> PreviewImage:
        """Compute the cached levels and range now (call it from a worker, not the event loop)."""
        _ = self.levels, self.display_range
        return self


@dataclass(frozen=True)
class RingModel:
    """2θ (rad) every ``step`` pixels, and the calibrant's ring angles (rad, ascending), for the image
    whose :func:`image_key` is ``image_key``."""

    tth_grid: np.ndarray
    step: int
    ring_tth: np.ndarray
    image_key: tuple = ()

    def tth_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """2θ at pixel positions (nearest sample; NaN outside the detector)."""
        import numpy as np

        rows = np.rint(np.asarray(y) / self.step).astype(int)
        cols = np.rint(np.asarray(x) / self.step).astype(int)
        inside = (rows >= 0) & (rows < self.tth_grid.shape[0]) & (cols >= 0) & (cols < self.tth_grid.shape[1])
        out = np.full(rows.shape, np.nan)
        out[inside] = self.tth_grid[rows[inside], cols[inside]]
        return out


def image_key(r: CalibrationRequest) -> tuple:
    """The image as displayed: the file (with its size and mtime: a rewritten file is another
    image), frame, rotate and flip."""
    from calterm.tui.session import file_stamp

    return (tuple(file_stamp(r.image_path) or ()), r.frame, r.rotate, r.flip)


def start_geometry(r: CalibrationRequest, detector, shape: tuple[int, int]) -> PoniGeometry:
    """The untilted geometry the start values describe (centre defaults to the image centre)."""
    from calterm.core.common.geometry import geometry_from_center

    center = r.center_xy if r.center_xy is not None else ((shape[1] - 1) / 2, (shape[0] - 1) / 2)
    distance_mm = r.distance_mm if r.distance_mm else 100.0
    return geometry_from_center(detector, distance_mm * 1e-3, center, r.wavelength_m)


def ring_model(r: CalibrationRequest, shape: tuple[int, int], geometry: PoniGeometry | None = None,
               step: int = 4, image_key: tuple = ()) -> RingModel:
    """Predicted rings for ``geometry`` (default: the start values) on the request's detector."""
    from dataclasses import replace

    import numpy as np

    from calterm.core.common.calibrants import load_calibrant
    from calterm.core.common.detectors import resolve_detector

    detector = resolve_detector(shape, r.detector, r.pixel_size_um).detector
    geo = geometry if geometry is not None else start_geometry(r, detector, shape)
    geo = replace(geo, wavelength=r.wavelength_m) if geometry is None else geo
    rows, cols = np.mgrid[0 : shape[0] : step, 0 : shape[1] : step]
    tth = geo.tth(detector, rows.ravel(), cols.ravel()).reshape(rows.shape)
    ring_tth = np.sort(load_calibrant(r.calibrant).two_theta_rad(geo.wavelength))
    return RingModel(tth.astype(np.float32), step, ring_tth, image_key)


class ImageCache:
    """The last image read, as data for the core and as the log preview; shared by the screens.

    Screens ask for it from worker threads, so reads are serialised by a lock; one entry is enough
    (a session works on one image at a time).
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value = None

    def get(self, r: CalibrationRequest):
        """(core Image, PreviewImage) for the request's image, frame and orientation."""
        import numpy as np

        from calterm.core.io.images import load_image

        key = image_key(r)
        with self._lock:
            if key != self._key:
                image = load_image(r.image_path, r.frame, r.rotate, r.flip)
                preview = PreviewImage(key, np.log1p(np.clip(image.data, 0, None)).astype(np.float32)).prepare()
                self._value = (image, preview)
                self._key = key
            return self._value


def ring_geometry(session) -> PoniGeometry | None:
    """The geometry predicted rings follow: the result's until a start value changes (a result of
    other inputs is gone already: the app drops it on every change, see ``Session.drop_stale``)."""
    if session.rings_from_result and session.result is not None:
        return session.result.geometry
    return None
