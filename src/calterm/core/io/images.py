"""Read any detector image, apply the user's rotate/flip, and write images.

Reading goes through fabio (every format beamlines produce); TIFF through tifffile (float and
multi-page TIFF without surprises); HDF5/NeXus through h5py with hdf5plugin's filters. Every reader
returns float64 so downstream code never meets integer overflow, and invalid pixels (negative
values, NaN) are reported as a mask rather than silently used.

Orientation: ``rotate`` (degrees, counter-clockwise as displayed with row 0 at the top) is applied
first, then ``flip`` ("h" mirrors columns, "v" mirrors rows). Calibration results, PONI files
included, refer to the image *after* these transforms.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calterm.core.io.writer import atomic_write
from calterm.errors import InputError

TIFF_SUFFIXES = {".tif", ".tiff"}
HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".cxi"}


@dataclass(frozen=True)
class Image:
    """A 2D frame as float64, with the pixels the file itself marks invalid."""

    data: np.ndarray
    invalid: np.ndarray  # bool, True where the pixel must not be used (negative, NaN, inf)
    path: str
    frame: int = 0
    header: dict | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape  # type: ignore[return-value]


def _split_dataset(path: str) -> tuple[str, str | None]:
    """``file.h5::/entry/data/data`` names a dataset inside an HDF5 file."""
    if "::" in path:
        file, dataset = path.split("::", 1)
        return file, dataset
    return path, None


def _read_hdf5(path: str, dataset: str | None, frame: int) -> np.ndarray:
    import h5py
    import hdf5plugin  # noqa: F401  (registers the compression filters Eiger/Jungfrau data use)

    with h5py.File(path, "r") as h5:
        if dataset is None:
            dataset = _default_dataset(h5)
        if dataset not in h5:
            raise InputError(f"{path}: no dataset {dataset}")
        ds = h5[dataset]
        if ds.ndim == 2:
            return np.asarray(ds[()])
        if ds.ndim == 3:
            if not 0 <= frame < ds.shape[0]:
                raise InputError(f"{path}: frame {frame} out of range (0..{ds.shape[0] - 1})")
            return np.asarray(ds[frame])
        raise InputError(f"{path}::{dataset} has {ds.ndim} dimensions; expected 2 or 3")


def _default_dataset(h5) -> str:
    """The NeXus default signal if declared, else the first 2D/3D dataset (Eiger: /entry/data/data)."""
    import h5py

    from calterm.core.io.nexus_signal import nexus_default_signal

    signal = nexus_default_signal(h5)  # @default -> NXentry @default -> NXdata @signal (silx's rules)
    if signal is not None:
        return signal
    for candidate in ("entry/data/data", "entry/instrument/detector/data", "data"):
        if candidate in h5 and isinstance(h5[candidate], h5py.Dataset):
            return candidate
    found: list[str] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim in (2, 3) and not found:
            found.append(name)

    h5.visititems(visit)
    if not found:
        raise InputError(f"{h5.filename}: no 2D or 3D dataset found")
    return found[0]


def read_array(path: str | os.PathLike, frame: int = 0) -> tuple[np.ndarray, dict]:
    """Read one frame as stored (no dtype change), with its header."""
    file, dataset = _split_dataset(str(path))
    p = Path(file)
    if not p.is_file():
        raise InputError(f"{file}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix in HDF5_SUFFIXES:
            return _read_hdf5(file, dataset, frame), {}
        if suffix == ".npy":
            return np.load(file, allow_pickle=False), {}
        if suffix in TIFF_SUFFIXES:
            import tifffile

            from calterm.core.io.tiff_pages import read_tiff_frame

            with tifffile.TiffFile(file) as tif:
                return read_tiff_frame(tif, frame, file), {}  # pages, or planes of a stacked page
        import fabio

        with fabio.open(file) as img:
            if frame:
                if not 0 <= frame < img.nframes:
                    raise InputError(f"{file}: frame {frame} out of range (0..{img.nframes - 1})")
                img = img.getframe(frame)
            return np.asarray(img.data), dict(img.header)
    except InputError:
        raise
    except Exception as exc:  # fabio/tifffile raise many types for a corrupt file
        raise InputError(f"{file}: cannot read image ({type(exc).__name__}: {exc})") from exc


def load_image(path: str | os.PathLike, frame: int = 0, rotate: int = 0, flip: str | None = None) -> Image:
    """Read a frame as float64, apply rotate/flip, and mark invalid pixels.

    Raises InputError for unreadable files, non-2D data, or an image with no usable pixels.
    """
    raw, header = read_array(path, frame)
    if raw.ndim == 3 and raw.shape[0] == 1:
        raw = raw[0]
    if raw.ndim != 2:
        raise InputError(f"{path}: expected a 2D image, got shape {raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise InputError(f"{path}: unsupported pixel type {raw.dtype}")
    data = orient(np.asarray(raw, dtype=np.float64), rotate, flip)
    invalid = ~np.isfinite(data) | (data < 0)
    if invalid.all():
        raise InputError(f"{path}: no valid pixels (all NaN, infinite or negative)")
    if np.isnan(data).mean() > 0.5:
        raise InputError(f"{path}: more than half of the pixels are NaN")
    data = np.where(invalid, 0.0, data)
    return Image(data=data, invalid=invalid, path=str(path), frame=frame, header=header)


def orient(data: np.ndarray, rotate: int = 0, flip: str | None = None) -> np.ndarray:
    """Rotate by a multiple of 90 degrees (counter-clockwise as displayed), then flip."""
    if rotate % 90:
        raise InputError(f"rotate must be 0, 90, 180 or 270 degrees, not {rotate}")
    data = np.rot90(data, k=(rotate // 90) % 4)
    if flip in (None, "", "none"):
        pass
    elif flip == "h":
        data = data[:, ::-1]
    elif flip == "v":
        data = data[::-1, :]
    else:
        raise InputError(f"flip must be 'h' or 'v', not {flip!r}")
    return np.ascontiguousarray(data)


def load_mask(path: str | os.PathLike, shape: tuple[int, int], rotate: int = 0, flip: str | None = None) -> np.ndarray:
    """Read a mask file (EDF, TIFF, NPY, Dioptas .mask) as bool, True = masked (pyFAI convention).

    Never reads pickles: ``np.load`` runs with ``allow_pickle=False``.
    """
    raw, _ = read_array(path)
    mask = orient(np.asarray(raw) != 0, rotate, flip)
    if mask.shape != tuple(shape):
        raise InputError(f"{path}: mask shape {mask.shape} does not match image shape {tuple(shape)}")
    return mask


def write_image(path: str | os.PathLike, data: np.ndarray) -> None:
    """Write an image atomically; the format follows the suffix, in any case (.tif/.tiff and
    Dioptas' .mask as TIFF, .edf, .npy). Dioptas reads a ``.mask`` with PIL as a TIFF (and falls
    back to ``np.loadtxt``, which an EDF header stops at its ``{``), so a .mask is never EDF.

    Every output image goes ``write_output(path, lambda tmp: write_image(tmp, data))``: the writer
    hands over a private staged file with the output's own name (so the suffix still picks the
    format), and this writes it in place; on any other path it is a plain atomic replace (demo and
    test images, which are not versioned outputs)."""
    p = Path(path)
    suffix = p.suffix.lower()

    def writer(tmp: Path) -> None:
        if suffix in TIFF_SUFFIXES or suffix == ".mask":
            import tifffile

            tifffile.imwrite(tmp, data)
        elif suffix == ".edf":
            import fabio.edfimage

            fabio.edfimage.EdfImage(data=data).write(str(tmp))
        elif suffix == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, data, allow_pickle=False)
        else:
            raise InputError(f"{p}: unknown image format {suffix!r} (use .tif, .edf or .npy)")

    atomic_write(p, writer)
