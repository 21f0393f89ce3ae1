"""Files in and out of a gain-map run: positions (frames + calibration) and the versioned outputs.

A position is a glob of frames plus one calibration: a PONI file (pyFAI's, or one written by
``calterm calibrate``) or a GSAS-II ``.imctrl`` file, whose detector comes from the image shape or
the user. Frames are averaged pixel by pixel over the frames where the pixel is valid, so a
pixel lost in one frame does not bias the average.

The folder layout (``--folder DIR``): one subfolder per position, sorted by name, each holding its
frames and exactly one ``.poni`` or ``.imctrl`` file.

A spline file the user gives (``--spline``, Fit2D's format, pyFAI's distortion model) is every
position's detector distortion: it replaces one a PONI names, and the position's notes say so.
"""

from __future__ import annotations

import datetime as _dt
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calterm.core.common.geometry import PoniGeometry, load_poni
from calterm.core.common.jobs import JobContext
from calterm.core.common.jsonable import plain_json
from calterm.core.io.images import TIFF_SUFFIXES
from calterm.errors import InputError

CALIBRATION_SUFFIXES = (".poni", ".imctrl")
IMAGE_SUFFIXES = (*TIFF_SUFFIXES, ".edf", ".cbf", ".h5", ".hdf5", ".nxs", ".npy", ".img", ".mccd")


@dataclass(frozen=True)
class PositionSpec:
    """Where one position's data are: a frames glob and a calibration file."""

    frames: str
    calibration: str
    spline: str | None = None  # a Fit2D spline file for the detector (replaces the calibration's own)


@dataclass
class Position:
    """One position, loaded: the averaged frame, its invalid pixels, and its geometry."""

    name: str
    image: np.ndarray
    invalid: np.ndarray
    geometry: PoniGeometry
    frames: list[str]
    calibration: str
    notes: list[str] = field(default_factory=list)


def expand_frames(pattern: str) -> list[str]:
    paths = sorted(p for p in glob.glob(os.path.expanduser(pattern)) if Path(p).is_file())
    if not paths:
        raise InputError(f"{pattern}: no frames match")
    return paths


def average_frames(paths: list[str], ctx: JobContext | None = None, label: str = "frames"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the frames where each pixel is valid; invalid where no frame has it valid.

    Every frame of every file counts: a multi-page TIFF, a multi-frame EDF or an HDF5 stack is a
    series of exposures (read one frame at a time by ``core.io.frames``), not its first frame.
    """
    from calterm.core.io.frames import iter_frames, plan_units

    total = count = None
    for i, path in enumerate(paths):
        if ctx is not None:
            ctx.report(f"reading {label}", i, len(paths))
        for unit in plan_units([path]):
            for read in iter_frames(unit):
                if read.data is None:
                    where = path if read.frame is None else f"{path} frame {read.frame}"
                    raise InputError(f"{where}: cannot read ({read.error})")
                data = np.asarray(read.data, dtype=np.float64)
                invalid = ~np.isfinite(data) | (data < 0)  # as load_image marks them
                if total is None:
                    total = np.zeros(data.shape)
                    count = np.zeros(data.shape, dtype=np.int32)
                elif data.shape != total.shape:
                    raise InputError(f"{path}: shape {data.shape} differs from {paths[0]} {total.shape}")
                total += np.where(invalid, 0.0, data)
                count += ~invalid
    if total is None:
        raise InputError(f"{paths[0]}: no frames")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return mean, count == 0


def load_calibration(path: str, shape: tuple[int, int], detector_name: str | None = None,
                     pixel_size_um: float | None = None, spline: str | None = None
                     ) -> tuple[PoniGeometry, object, list[str]]:
    """Geometry, pyFAI detector and notes from a PONI or GSAS-II file, checked against ``shape``;
    ``spline`` (a Fit2D spline file) then becomes the detector's distortion."""
    geometry, detector, notes = _read_calibration(path, shape, detector_name, pixel_size_um)
    if not spline:
        if getattr(detector, "splinefile", None):
            notes = [*notes, f"spline {detector.splinefile} (the PONI's)"]
        return geometry, detector, notes
    return (geometry, *_typed_spline(detector, spline, shape, notes))


def _typed_spline(detector, path: str, shape: tuple[int, int], notes: list[str]) -> tuple[object, list[str]]:
    """The detector with the user's spline (calibrate's helper: one line when it is missing, not a
    spline or of another grid; it wins over the PONI's own)."""
    from calterm.core.common.spline_detector import with_spline

    old = getattr(detector, "splinefile", None)
    det = with_spline(detector, path, shape)
    return det, [*notes, f"spline {det.splinefile} (--spline)" + (f"; replaces the PONI's {old}" if old else "")]


def _read_calibration(path: str, shape: tuple[int, int], detector_name: str | None,
                      pixel_size_um: float | None) -> tuple[PoniGeometry, object, list[str]]:
    from calterm.core.common.detectors import resolve_detector

    suffix = Path(path).suffix.lower()
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    if suffix == ".imctrl":
        from calterm.core.gain.gsas_imctrl import ignored_terms, load_imctrl

        choice = resolve_detector(shape, detector_name, pixel_size_um)
        geometry, controls = load_imctrl(path, choice.detector)
        return geometry, choice.detector, [f"detector {choice.name} ({choice.how})", *ignored_terms(controls)]
    if suffix != ".poni":
        raise InputError(f"{path}: calibration must be a .poni or GSAS-II .imctrl file")
    geometry, detector = load_poni(path)
    det_shape = tuple(detector.shape) if detector.shape is not None else None
    if det_shape is None:
        return _legacy_poni_detector(path, geometry, detector, shape, detector_name, pixel_size_um)
    if det_shape != tuple(shape):
        raise InputError(f"{path}: detector shape {det_shape} does not match the frames {tuple(shape)}")
    return geometry, detector, []


def _legacy_poni_detector(path: str, geometry: PoniGeometry, detector, shape: tuple[int, int],
                          detector_name: str | None, pixel_size_um: float | None
                          ) -> tuple[PoniGeometry, object, list[str]]:
    """The detector of a PONI that states a pixel size but no shape (version 1, as Dioptas and older
    pyFAI write it): the pixel size is the file's, the shape the frames'.

    The PONI's poni1/poni2 are metres on a detector of that pixel size, so taking another pixel size
    (a registry detector that happens to share the frames' shape: Pilatus1M's 172 µm for a file that
    says 100 µm) moves every pixel; a ``--pixel-size`` the user gives wins, said in the notes, and
    ``--detector`` adds that detector's gaps at the PONI's pixel size.
    """
    from calterm.core.common.detectors import resolve_detector

    stated = None
    if detector.pixel1 and detector.pixel2:
        stated = (float(detector.pixel1) * 1e6, float(detector.pixel2) * 1e6)
    if pixel_size_um is None and stated is None:
        choice = resolve_detector(shape, detector_name, None)
        return geometry, choice.detector, [f"PONI states no detector or pixel size; using {choice.name}"]
    given = None if pixel_size_um is None else tuple(np.broadcast_to(np.asarray(pixel_size_um, float), (2,)))
    size = given if given is not None else stated
    choice = resolve_detector(shape, detector_name, size)
    notes = [f"pixel size {size[0]:g}x{size[1]:g} µm from the PONI, shape {tuple(shape)} from the frames "
             f"({choice.name})"]
    if given is not None and stated is not None and not np.allclose(given, stated, rtol=1e-6):
        notes = [f"--pixel-size {given[0]:g}x{given[1]:g} µm overrides the PONI's {stated[0]:g}x{stated[1]:g} µm "
                 f"({path})"]
    return geometry, choice.detector, notes


def folder_positions(folder: str) -> list[PositionSpec]:
    """One position per subfolder of ``folder`` (sorted): its image files and its calibration."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{folder}: not a directory")
    specs = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        calibrations = sorted(p for p in sub.iterdir() if p.suffix.lower() in CALIBRATION_SUFFIXES)
        frames = [p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        if not frames:
            continue
        if len(calibrations) != 1:
            raise InputError(f"{sub}: expected exactly one .poni or .imctrl file, found {len(calibrations)}")
        suffixes = sorted({p.suffix for p in frames})
        if len(suffixes) > 1:
            raise InputError(f"{sub}: frames of several formats ({', '.join(suffixes)}); keep one")
        specs.append(PositionSpec(str(sub / f"*{suffixes[0]}"), str(calibrations[0])))
    if not specs:
        raise InputError(f"{folder}: no subfolder holds frames")
    return specs


def load_positions(specs: list[PositionSpec], detector_name: str | None = None, pixel_size_um: float | None = None,
                   ctx: JobContext | None = None) -> tuple[list[Position], object]:
    """Load every position; all must share one image shape. Returns the positions and the detector."""
    positions: list[Position] = []
    detector = None
    for k, spec in enumerate(specs, start=1):
        paths = expand_frames(spec.frames)
        image, invalid = average_frames(paths, ctx, f"position {k}")
        if positions and image.shape != positions[0].image.shape:
            raise InputError(f"position {k}: frames have shape {image.shape}, position 1 has "
                             f"{positions[0].image.shape}; all positions must use one detector")
        geometry, det, notes = load_calibration(spec.calibration, image.shape, detector_name, pixel_size_um,
                                                spec.spline)
        if detector is not None:
            _check_same_detector(detector, det, k, spec.calibration)
        detector = detector or det
        positions.append(Position(f"position {k}", image, invalid, geometry, paths, spec.calibration, notes))
    if detector is None:
        raise InputError("no positions given")
    return positions, detector


def _check_same_detector(first, other, k: int, path: str) -> None:
    """Every position's geometry is evaluated on position 1's detector, so their calibrations must
    describe one detector: the same pixel size and the same orientation (PONI 2.1), or a geometry
    would be read in another pixel frame (a mirrored beam centre, a wrong beam-stop check)."""
    from calterm.core.common.geometry import orientation_of

    a = (first.pixel1, first.pixel2, orientation_of(first))
    b = (other.pixel1, other.pixel2, orientation_of(other))
    if not (np.allclose(a[:2], b[:2], rtol=1e-6) and a[2] == b[2]):
        raise InputError(f"position {k}: {path} describes another detector ({b[0] * 1e6:g}x{b[1] * 1e6:g} µm, "
                         f"orientation {b[2]}) than position 1 ({a[0] * 1e6:g}x{a[1] * 1e6:g} µm, orientation "
                         f"{a[2]}); all positions must use one detector")


def dated_name(name: str, date: _dt.date | None = None) -> str:
    """``NAME_YYYY-MM-DD`` (the reference method's naming), keeping any directory part."""
    return f"{name}_{(date or _dt.date.today()).isoformat()}"


GAIN_IMAGES = ("gain", "unfiltered", "damaged_mask", "uncertainty")  # the keys of GainResult.images()


def output_paths(base: str) -> dict[str, str]:
    """Every file a run named ``base`` writes: ``BASE[_KEY].tif`` (key "gain" has no suffix) and
    ``BASE_report.json``; known before the run, so each is checked before any work starts."""
    paths = {key: f"{base}.tif" if key == "gain" else f"{base}_{key}.tif" for key in GAIN_IMAGES}
    return {**paths, "report": f"{base}_report.json"}


def gain_provenance(specs: list[PositionSpec], form: str) -> dict:
    """What the map came from, logged with every file written."""
    return {"positions": [{"frames": s.frames, "calibration": s.calibration, **({"spline": s.spline} if s.spline
                                                                                 else {})} for s in specs],
            "form": form}


def write_outputs(base: str, images: dict[str, np.ndarray], report: dict, command: str = "",
                  inputs: dict | None = None) -> dict[str, dict[str, str]]:
    """Write each image as ``BASE[_KEY].tif`` and the report as ``BASE_report.json``.

    Every file goes through the one writer (:func:`calterm.core.io.writer.write_output`), as a new
    version; returns {key: {"path", "version"}}.
    """
    from calterm.core.io.images import write_image
    from calterm.core.io.writer import write_output, write_text_output

    paths = output_paths(base)
    written: dict[str, dict[str, str]] = {}
    for key, data in images.items():
        path = paths.get(key, f"{base}_{key}.tif")
        version = write_output(path, lambda tmp, d=data: write_image(tmp, d), command=command, inputs=inputs)
        written[key] = {"path": path, "version": str(version)}
    report_path = paths["report"]
    report = {**report, "outputs": {k: v["path"] for k, v in written.items()} | {"report": report_path}}
    text = json.dumps(plain_json(report), indent=2, allow_nan=False)
    version = write_text_output(report_path, text, command=command, inputs=inputs)
    written["report"] = {"path": report_path, "version": str(version)}
    return written
