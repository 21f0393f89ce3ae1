"""Checking a calibration: the integrated 1D pattern and the cake, with the calibrant's ring
positions, through pyFAI's integrators (we only choose units and masks). The files go through the
one output writer (versioned: a second run keeps the first as ``NAME.vK.EXT``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calterm.core.calibrate.model import CalibrationRequest, CalibrationResult
from calterm.core.io.writer import write_output, write_text_output


@dataclass(frozen=True)
class Pattern:
    tth_deg: np.ndarray
    intensity: np.ndarray
    ring_tth_deg: np.ndarray  # calibrant rings within the pattern's range


@dataclass(frozen=True)
class Cake:
    intensity: np.ndarray  # (n_chi, n_tth)
    tth_deg: np.ndarray
    chi_deg: np.ndarray
    ring_tth_deg: np.ndarray


# Bounding-box pixel splitting, by pyFAI's histogram engine. Its CSR engine (pyFAI's usual choice)
# first builds a sparse matrix that pays off only when the same geometry integrates many images;
# these run once per calibration, and building it held the GIL: on the demo (1043 x 981 px) the
# pattern took 255 ms with the GIL held up to 59-68 ms at a time and the cake 410-430 ms with up to
# 156-162 ms (the app's event loop stopped as long: benchmarks/tui_event_loop.py), against 146 ms
# and 268 ms with no hold over 8 ms here; the intensities agree to 1.2e-7 (float32).
METHOD = ("bbox", "histogram", "cython")

_last: list = []  # (key, prepared image) of the last call: pattern then cake read the image once


def _inputs(result: CalibrationResult, request: CalibrationRequest):
    import os

    from calterm.core.calibrate.pipeline import prepare

    def mtime(path: str | None):
        try:
            return os.stat(path.split("::")[0]).st_mtime_ns if path else None
        except OSError:
            return None  # prepare() below reports the missing file in one line

    key = (request.image_path, request.frame, request.rotate, request.flip, request.mask_path, request.detector,
           request.pixel_size_um, request.calibrant, request.wavelength_m, request.i_max,
           mtime(request.image_path), mtime(request.mask_path))
    if not _last or _last[0][0] != key:
        _last[:] = [(key, prepare(request))]
    prep = _last[0][1]
    ai = result.geometry.to_pyfai(result.detector)
    return prep, ai, ~prep.valid


def _rings_in(prep, lo: float, hi: float) -> np.ndarray:
    rings = np.degrees(prep.tth_rad)
    return rings[(rings >= lo) & (rings <= hi)]


def pattern(result: CalibrationResult, request: CalibrationRequest, npt: int = 2000) -> Pattern:
    """Azimuthally integrated intensity against 2θ (degrees), masked pixels excluded."""
    prep, ai, mask = _inputs(result, request)
    res = ai.integrate1d(prep.image.data, npt, unit="2th_deg", mask=mask, method=METHOD)
    tth = np.asarray(res.radial)
    return Pattern(tth, np.asarray(res.intensity), _rings_in(prep, tth.min(), tth.max()))


def cake(result: CalibrationResult, request: CalibrationRequest, npt_tth: int = 500, npt_chi: int = 360) -> Cake:
    """The image regridded to (χ, 2θ): straight vertical lines when the geometry is right."""
    prep, ai, mask = _inputs(result, request)
    res = ai.integrate2d(prep.image.data, npt_tth, npt_chi, unit="2th_deg", mask=mask,
                         method=METHOD)
    tth = np.asarray(res.radial)
    return Cake(np.asarray(res.intensity), tth, np.asarray(res.azimuthal), _rings_in(prep, tth.min(), tth.max()))


def write_pattern(result: CalibrationResult, request: CalibrationRequest, path: str | Path, *,
                  command: str = "") -> Path:
    """Two columns, 2θ (deg) and intensity, with the calibrant's ring positions in the header."""
    p = pattern(result, request)
    lines = [f"# calterm pattern: {result.calibrant}, {result.detector_name}",
             "# rings (2theta deg): " + " ".join(f"{t:.5f}" for t in p.ring_tth_deg),
             "# 2theta_deg intensity"]
    lines += [f"{t:.6f} {i:.6g}" for t, i in zip(p.tth_deg, p.intensity, strict=True)]
    return write_text_output(path, "\n".join(lines) + "\n", command=command, inputs=_provenance(result))


def write_cake(result: CalibrationResult, request: CalibrationRequest, path: str | Path, *,
               command: str = "") -> dict:
    """The cake as a float32 image (rows = χ, columns = 2θ); returns its axes for the report."""
    from calterm.core.io.images import write_image

    c = cake(result, request)
    data = c.intensity.astype(np.float32)
    version = write_output(path, lambda tmp: write_image(tmp, data), command=command, inputs=_provenance(result))
    return {"path": str(path), "version": str(version), "tth_deg": [float(c.tth_deg[0]), float(c.tth_deg[-1])],
            "chi_deg": [float(c.chi_deg[0]), float(c.chi_deg[-1])], "shape": list(c.intensity.shape)}


def write_residuals(result: CalibrationResult, path: str | Path, *, command: str = "") -> Path:
    """Per-point residuals as CSV: x, y (pixels), ring, Δ2θ (degrees)."""
    lines = ["x,y,ring,delta_2th_deg"]
    lines += [f"{x:.4f},{y:.4f},{r},{np.degrees(d):.8f}"
              for x, y, r, d in zip(result.cols, result.rows, result.ring, result.residual_rad, strict=True)]
    return write_text_output(path, "\n".join(lines) + "\n", command=command, inputs=_provenance(result))


def _provenance(result: CalibrationResult) -> dict:
    return {"calibrant": result.calibrant, "detector": result.detector_name, "geometry": result.geometry.as_dict()}
