"""Frames of a run, from many files, multi-frame files and HDF5 stacks, read one at a time.

A dark run can be thousands of single-frame files (more than the shell's argument limit, hence
globs and list files), a few multi-frame EDF/TIFF files, or HDF5/NeXus stacks (Eiger master files
with their ``data_NNNNNN`` links). :func:`plan_units` cuts the run into :class:`FrameUnit` pieces
(a file or a range of a stack's frames) that workers read independently; :func:`iter_frames`
yields each frame as stored (no dtype change) so accumulation decides the precision.

A frame that cannot be read comes back as an error string, never as data: fabio pads a truncated
EDF with zeros and only *logs* an error, so fabio errors logged while a frame is read are turned
into a failed read (see :class:`_FabioErrors`).
"""

from __future__ import annotations

import glob
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calterm.core.io.images import HDF5_SUFFIXES, TIFF_SUFFIXES
from calterm.errors import InputError

GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class FrameUnit:
    """A piece of a run one worker reads: a file (``file.h5::/dataset`` for HDF5) and a frame range.

    ``stop`` None means "to the end": the frame count of fabio-read files is only known once read.
    """

    path: str
    start: int = 0
    stop: int | None = None

    @property
    def n_frames(self) -> int | None:
        return None if self.stop is None else self.stop - self.start


@dataclass(frozen=True)
class FrameRead:
    """One frame of a unit: its data, or why it could not be read (``frame`` None: the whole file)."""

    path: str
    frame: int | None
    data: np.ndarray | None
    error: str | None = None


def _natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def expand_sources(patterns: Iterable[str], list_files: Iterable[str] = ()) -> list[str]:
    """Paths from arguments and list files; globs expanded in natural order (frame_2 before frame_10).

    A list file holds one path or glob per line (blank lines and ``#`` comments ignored); relative
    entries are taken relative to the list file's directory, so a list made with ``ls`` in the data
    directory works from anywhere. ``file.h5::/dataset`` selects a dataset inside an HDF5 file.
    """
    entries: list[tuple[str, Path | None]] = [(p, None) for p in patterns]
    for lf in list_files:
        p = Path(lf)
        if not p.is_file():
            raise InputError(f"{lf}: no such list file")
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                entries.append((line, p.parent))
    paths: list[str] = []
    for entry, base in entries:
        file, sep, dataset = entry.partition("::")
        if base is not None and not os.path.isabs(os.path.expanduser(file)):
            file = str(base / file)
        file = os.path.expanduser(file)
        if GLOB_CHARS.search(file):
            matches = sorted(glob.glob(file), key=_natural_key)
            if not matches:
                raise InputError(f"{entry}: no file matches this pattern")
            paths.extend(m + sep + dataset for m in matches if os.path.isfile(m))
        elif not os.path.isfile(file):
            raise InputError(f"{file}: no such file")
        else:
            paths.append(file + sep + dataset)
    if not paths:
        raise InputError("no input frames given (pass files, globs or --list FILE)")
    return paths


def plan_units(paths: Iterable[str], max_frames: int | None = None) -> list[FrameUnit]:
    """Cut the run into units; stacks whose length is cheap to know are split every ``max_frames``."""
    units: list[FrameUnit] = []
    for path in paths:
        for unit in _file_units(path):
            n = unit.n_frames
            if max_frames and n is not None and n > max_frames:
                units.extend(FrameUnit(unit.path, s, min(s + max_frames, unit.stop))  # type: ignore[type-var]
                             for s in range(unit.start, unit.stop, max_frames))  # type: ignore[arg-type]
            else:
                units.append(unit)
    return units


def _file_units(path: str) -> list[FrameUnit]:
    """Whole-file units with their frame count where a header read gives it (HDF5, NPY).

    TIFF and fabio files stay whole: their frame count costs a read (a TIFF page may even hold a
    stack), and runs of such files are split among workers file by file.
    """
    file, _, dataset = path.partition("::")
    suffix = Path(file).suffix.lower()
    try:
        if suffix in HDF5_SUFFIXES:
            return _hdf5_units(file, dataset or None)
        if suffix == ".npy":
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
            return [FrameUnit(path, 0, arr.shape[0] if arr.ndim == 3 else 1)]
    except Exception:  # unreadable header: the reader reports it as a skipped file
        return [FrameUnit(path)]
    return [FrameUnit(path)]


def _hdf5_units(file: str, dataset: str | None) -> list[FrameUnit]:
    import h5py
    import hdf5plugin  # noqa: F401  (compression filters of Eiger/Jungfrau data)

    from calterm.core.io.images import _default_dataset

    with h5py.File(file, "r") as h5:
        if dataset is None and "entry/data" in h5 and isinstance(h5["entry/data"], h5py.Group):
            links = sorted(k for k in h5["entry/data"] if k.startswith("data_"))
            if links and "data" not in h5["entry/data"]:  # Eiger master file: one unit per data file
                return [_hdf5_unit(h5, file, f"/entry/data/{k}") for k in links]
        name = dataset or "/" + _default_dataset(h5).lstrip("/")
        return [_hdf5_unit(h5, file, name)]


def _hdf5_unit(h5, file: str, name: str) -> FrameUnit:
    path = f"{file}::{name}"
    try:
        ds = h5[name]
    except Exception:  # broken external link: reported when read
        return FrameUnit(path)
    return FrameUnit(path, 0, ds.shape[0] if ds.ndim == 3 else 1)


class _FabioErrors(logging.Handler):
    """Collect errors fabio logs (instead of raising) while this thread reads a frame."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())

    def __enter__(self) -> _FabioErrors:
        logging.getLogger("fabio").addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("fabio").removeHandler(self)


def _checked(data) -> np.ndarray:
    """Raise ValueError unless ``data`` is a 2D numeric frame (a leading axis of 1 is dropped)."""
    if data is None:
        raise ValueError("no data")
    arr = np.asarray(data)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f"not a 2D frame (shape {arr.shape})")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"unsupported pixel type {arr.dtype}")
    return arr


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def iter_frames(unit: FrameUnit) -> Iterator[FrameRead]:
    """Yield every frame of ``unit``; a failure yields an error instead of data, never raises.

    A file that opens but holds no frame (tifffile only warns about a broken first-page offset) is
    reported as unreadable rather than silently contributing nothing.
    """
    n = 0
    for read in _iter_frames(unit):
        n += 1
        yield read
    if n == 0:
        yield FrameRead(unit.path, None, None, "no frame found in the file")


def _iter_frames(unit: FrameUnit) -> Iterator[FrameRead]:
    file, _, dataset = unit.path.partition("::")
    suffix = Path(file).suffix.lower()
    try:
        if suffix in HDF5_SUFFIXES:
            yield from _iter_hdf5(unit, file, dataset or None)
        elif suffix == ".npy":
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
            stack = arr if arr.ndim == 3 else arr[None]
            yield from _iter_indexed(unit, len(stack), lambda i: np.array(stack[i]))
        elif suffix in TIFF_SUFFIXES:
            yield from _iter_tiff(unit, file)
        else:
            yield from _iter_fabio(unit, file)
    except Exception as exc:  # the file itself cannot be opened
        yield FrameRead(unit.path, None, None, _describe(exc))


def _iter_indexed(unit: FrameUnit, n: int, read) -> Iterator[FrameRead]:
    stop = n if unit.stop is None else min(unit.stop, n)
    for i in range(unit.start, stop):
        try:
            yield FrameRead(unit.path, i, _checked(read(i)))
        except Exception as exc:
            yield FrameRead(unit.path, i, None, _describe(exc))


def _iter_tiff(unit: FrameUnit, file: str) -> Iterator[FrameRead]:
    """Pages in order; a page holding a stack (tifffile writes 3D arrays so, as planar RGB(A) for 3
    or 4 frames) yields each of its frames (``tiff_pages.frames_in_page``)."""
    import tifffile

    from calterm.core.io.tiff_pages import frames_in_page

    index = 0
    with tifffile.TiffFile(file) as tif:
        for page in tif.pages:
            try:
                arr = page.asarray()
                frames = arr if arr.ndim == 3 and frames_in_page(page) > 1 else arr[None]
            except Exception as exc:
                yield FrameRead(unit.path, index, None, _describe(exc))
                index += 1
                continue
            for frame in frames:
                try:
                    yield FrameRead(unit.path, index, _checked(frame))
                except Exception as exc:
                    yield FrameRead(unit.path, index, None, _describe(exc))
                index += 1


def _iter_hdf5(unit: FrameUnit, file: str, dataset: str | None) -> Iterator[FrameRead]:
    import h5py
    import hdf5plugin  # noqa: F401

    from calterm.core.io.images import _default_dataset

    with h5py.File(file, "r") as h5:
        name = dataset or _default_dataset(h5)
        ds = h5[name]
        if ds.ndim == 2:
            yield from _iter_indexed(unit, 1, lambda i: ds[()])
        else:
            yield from _iter_indexed(unit, ds.shape[0], lambda i: ds[i])


def _iter_fabio(unit: FrameUnit, file: str) -> Iterator[FrameRead]:
    import fabio

    with _FabioErrors() as errors:
        img = fabio.open(file)
    if errors.messages:
        raise ValueError(errors.messages[0])
    with img:
        n = img.nframes
        stop = n if unit.stop is None else min(unit.stop, n)
        for i in range(unit.start, stop):
            try:
                with _FabioErrors() as errors:
                    data = _checked((img if i == 0 else img.getframe(i)).data)
                if errors.messages:
                    raise ValueError(errors.messages[0])
                yield FrameRead(unit.path, i, data)
            except Exception as exc:
                yield FrameRead(unit.path, i, None, _describe(exc))
