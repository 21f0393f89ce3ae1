"""pyFAI's own peak pickers (Massif, blob detection) as ring extractors, selectable by the user.

Dioptas and pyFAI-calib2 offer these; calterm keeps them for users who trust them, with the same
ring bands as pyFAI (a quarter of the spacing to the neighbouring rings, or ``delta_2th``) and the
same pixel selection (band pixels above mean + std). The spoke search in :mod:`ringpeaks` is the
default: pyFAI's Massif labels the whole image (seconds on 4 Mpixel) and returns whole-pixel peaks.
Massif shuffles its points with numpy's global generator, so each call seeds it (deterministic).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from calterm.core.calibrate.refine import ControlPoints
from calterm.core.common.detectors import mean_pixel_m
from calterm.core.common.geometry import PoniGeometry
from calterm.errors import ComputationError


def _keypoint_pixels(blob, shape) -> tuple[np.ndarray, np.ndarray]:
    y = np.clip(np.round(blob.keypoints.y).astype(int), 0, shape[0] - 1)
    x = np.clip(np.round(blob.keypoints.x).astype(int), 0, shape[1] - 1)
    return y, x


class PickerExtractor:
    """Extract control points on chosen rings with pyFAI's Massif or blob detection."""

    def __init__(self, method: str, data: np.ndarray, valid: np.ndarray, detector, d_A: np.ndarray,
                 tth_rad: np.ndarray, i_min_factor: float = 0.1, pts_per_deg: float = 1.0, seed: int = 0):
        if method not in ("massif", "blob"):
            raise ValueError(f"unknown peak picker {method!r}")
        self.method = method
        self.data = data
        self.valid = valid
        self.detector = detector
        self.d_A = d_A
        self.tth_rad = tth_rad
        self.i_min_factor = i_min_factor
        self.pts_per_deg = pts_per_deg
        self.seed = seed
        self._picker = None  # built once per image: the costly part (labelling / scale space)

    def _get_picker(self):
        if self._picker is None:
            mask = (~self.valid).astype(np.int8)
            if self.method == "massif":
                from pyFAI.massif import Massif

                self._picker = Massif(self.data, mask)
            else:
                from pyFAI.blob_detection import BlobDetection

                # On a log scale, as pyFAI's own commented-out default: on linear intensities its
                # difference-of-Gaussians finds no keypoint on rings (measured: 0 against ~180).
                image = np.log1p(np.where(self.valid, self.data, 0.0)).astype(np.float32)
                blob = BlobDetection(image, mask=mask)
                with contextlib.redirect_stdout(io.StringIO()):  # pyFAI prints progress to stdout
                    blob.process()
                if not len(blob.keypoints):
                    raise ComputationError("blob detection found no peaks: try --peak-method spokes or massif")
                self._picker = blob
        return self._picker

    def __call__(self, geometry: PoniGeometry, rings: list[int], half_window_px: float) -> ControlPoints:
        ai = geometry.to_pyfai(self.detector)
        shape = self.data.shape
        tth = ai.center_array(shape, unit="2th_rad")
        chi = ai.center_array(shape, unit="chi_rad")
        pixel = mean_pixel_m(self.detector)
        picker = self._get_picker()
        parts = []
        for n in rings:
            centre = self.tth_rad[n]
            gaps = np.abs(np.delete(self.tth_rad, n) - centre)
            quarter = 0.25 * gaps.min() if gaps.size else np.inf
            half = min(quarter, half_window_px * pixel / geometry.dist * np.cos(centre) ** 2)
            band = (np.abs(tth - centre) <= half) & self.valid
            if band.sum() < 10:
                continue
            values = self.data[band]
            bright = band & (self.data > values.mean() + values.std())
            azimuths = np.unique(np.round(np.degrees(chi[band]))).size
            keep = max(1, int(azimuths * self.pts_per_deg))
            np.random.seed(self.seed + n)  # Massif shuffles with the global generator
            if self.method == "blob" and not bright[_keypoint_pixels(picker, shape)].any():
                continue  # pyFAI's blob picker logs an error and returns nothing for an empty band
            with contextlib.redirect_stdout(io.StringIO()):
                peaks = picker.peaks_from_area(bright, Imin=0, keep=keep, dmin=max(1.0, bright.sum() / 2.0 / keep))
            if not len(peaks):
                continue
            yx = np.asarray(peaks, dtype=float)
            height = self.data[np.clip(np.round(yx[:, 0]).astype(int), 0, shape[0] - 1),
                               np.clip(np.round(yx[:, 1]).astype(int), 0, shape[1] - 1)]
            yx = yx[height >= self.i_min_factor * np.median(height)]
            parts.append(ControlPoints(yx[:, 0], yx[:, 1], np.full(len(yx), n + 1), np.full(len(yx), float(self.d_A[n]))))
        return ControlPoints.concat(parts)
