"""Dark-run statistics at scale: average, standard deviation, max and min images of many frames.

What ``cxi.mpi_average`` gives at LCLS, for any detector format and in constant memory: frames are
streamed (see :mod:`calterm.core.io.frames`), folded into mergeable per-pixel partials (see
:mod:`calterm.core.health.dark_partial`) and combined exactly, here, over local processes or on a Dask
cluster (see :mod:`calterm.core.health.dark_parallel`).

Promises:
- The standard deviation is the population one (divide by N), as ``cxi.mpi_average``;
  ``ddof=1`` gives the sample (N-1) form.
- A frame that cannot be read, or that is mostly NaN/Inf (a failed readout), is skipped, counted and
  listed, never included (``frames_nonfinite`` counts the latter); a frame whose shape
  differs from the run's first readable frame stops the run with an :class:`InputError` (a mixed-up
  file list is a user error better caught than averaged away).
- Optional robust statistics, each costing more passes over the data (memory stays flat):
  *gating* drops whole frames whose mean lies outside ``gate_range`` or more than ``gate_sigma``
  robust sigmas (1.4826 MAD) from the run's median frame mean (a light leak or X-rays during a dark
  run, as psana's dark processing rejects); *sigma clipping* gives a per-pixel mean of values within
  ``clip_sigma`` (population) sigmas of the mean, iterated ``clip_iterations`` times.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calterm.core.common.jobs import JobContext, Progress
from calterm.core.health.dark_parallel import PassSpec, run_pass
from calterm.core.health.dark_partial import DarkPartial, finished, std_from
from calterm.core.io.frames import FrameUnit, iter_frames, plan_units
from calterm.errors import ComputationError, InputError


@dataclass(frozen=True)
class DarkOptions:
    """How to compute: statistics options and where to run."""

    ddof: int = 0
    clip_sigma: float | None = None
    clip_iterations: int = 1
    gate_sigma: float | None = None
    gate_range: tuple[float | None, float | None] | None = None
    workers: int = 1
    scheduler: object = None  # Dask scheduler address, or a distributed.Client
    unit_frames: int = 64  # a stack is split into units of this many frames
    task_frames: int = 64  # frames per parallel task (more tasks: finer progress, more transfers)

    def __post_init__(self) -> None:
        if self.ddof not in (0, 1):
            raise InputError(f"ddof must be 0 (population) or 1 (sample), not {self.ddof}")
        if self.clip_sigma is not None and not self.clip_sigma > 0:
            raise InputError(f"clip sigma must be positive, not {self.clip_sigma}")
        if self.clip_iterations < 1:
            raise InputError(f"clip iterations must be at least 1, not {self.clip_iterations}")
        if self.gate_sigma is not None and not self.gate_sigma > 0:
            raise InputError(f"gate sigma must be positive, not {self.gate_sigma}")
        if self.workers < 1:
            raise InputError(f"workers must be at least 1, not {self.workers}")
        if self.gate_range is not None:
            lo, hi = self.gate_range
            if lo is not None and hi is not None and not lo < hi:  # an empty window would gate every frame
                raise InputError(f"gate range: low {lo:g} must be below high {hi:g}")


@dataclass
class DarkResult:
    """The images and what went into them."""

    average: np.ndarray
    std: np.ndarray
    max: np.ndarray
    min: np.ndarray
    count: np.ndarray
    frames_used: int
    skipped: list[tuple[str, int | None, str]]
    gated: list[tuple[str, int | None, float]] = field(default_factory=list)
    clipped_mean: np.ndarray | None = None
    clipped_fraction: float | None = None
    time_s: float = 0.0
    passes: int = 1
    options: DarkOptions = field(default_factory=DarkOptions)
    sources: list[str] = field(default_factory=list)  # the frame files, as expanded (provenance)
    frames_nonfinite: int = 0  # skipped (also in ``skipped``): mostly NaN/Inf
    frames_partly_nonfinite: int = 0  # used, their NaN/Inf pixels left out

    @property
    def shape(self) -> tuple[int, int]:
        return self.average.shape  # type: ignore[return-value]

    def report(self) -> dict:
        """The JSON-able summary: frames used/skipped/gated, time, throughput, image medians."""
        frames_read = self.frames_used + len(self.gated)
        return {
            "frames_used": self.frames_used,
            "frames_skipped": len(self.skipped),
            "frames_gated": len(self.gated),
            "frames_nonfinite": self.frames_nonfinite,
            "frames_partly_nonfinite": self.frames_partly_nonfinite,
            "skipped": [{"source": p, "frame": f, "reason": r} for p, f, r in self.skipped],
            "gated": [{"source": p, "frame": f, "frame_mean": m} for p, f, m in self.gated],
            "shape": list(self.shape),
            "std": "sample (N-1)" if self.options.ddof else "population (N)",
            "passes": self.passes,
            "time_s": round(self.time_s, 3),
            "frames_per_s": round(frames_read * self.passes / self.time_s, 1) if self.time_s > 0 else None,
            "workers": self.options.workers,
            "scheduler": None if self.options.scheduler is None else str(self.options.scheduler),
            "median": {name: _nanmedian(img) for name, img in
                       (("average", self.average), ("std", self.std), ("max", self.max), ("min", self.min))},
            "pixels_without_data": int((self.count == 0).sum()),
            "clip_sigma": self.options.clip_sigma,
            "clipped_fraction": self.clipped_fraction,
        }


def _nanmedian(img: np.ndarray) -> float | None:
    finite = img[np.isfinite(img)]
    return float(np.median(finite)) if finite.size else None


def run_shape(units: Sequence[FrameUnit]) -> tuple[int, int]:
    """The shape of the first readable frame: the shape every other frame must have."""
    for unit in units:
        for read in iter_frames(unit):
            if read.data is not None:
                return read.data.shape  # type: ignore[return-value]
    raise InputError("no readable frame in the input (every file failed to read)")


def compute_dark(paths: Sequence[str], options: DarkOptions | None = None,
                 ctx: JobContext | None = None) -> DarkResult:
    """Statistics of every frame in ``paths`` (files, ``file.h5::/dataset``; see ``expand_sources``)."""
    options = options or DarkOptions()
    ctx = ctx or JobContext()
    start = time.perf_counter()
    units = plan_units(paths, options.unit_frames)
    shape = run_shape(units)

    def one_pass(spec: PassSpec, stage: str) -> DarkPartial:
        return run_pass(units, shape, spec, ctx, stage, options.workers, options.scheduler, options.task_frames)

    gating = options.gate_sigma is not None or options.gate_range is not None
    main = one_pass(PassSpec(record_means=gating), "dark statistics")
    passes = 1
    gated: list[tuple[str, int | None, float]] = []
    if gating:
        gated = _gated_frames(main.frame_means, options)
        if gated:
            exclude = frozenset((p, f) for p, f, _ in gated)
            skipped = main.skipped
            main = one_pass(PassSpec(exclude=exclude), "dark statistics without gated frames")
            main.skipped = skipped
            passes += 1
    if main.frames_used == 0:
        raise ComputationError(f"no frame left to average ({len(main.skipped)} skipped, "
                               f"{main.frames_nonfinite} of them NaN/Inf, {len(gated)} gated)")
    clipped, fraction = None, None
    if options.clip_sigma is not None:
        current = main
        for i in range(options.clip_iterations):
            sigma = std_from(current, 0)
            mean = current.mean
            k = options.clip_sigma
            window = (mean - k * np.nan_to_num(sigma), mean + k * np.nan_to_num(sigma))
            exclude = frozenset((p, f) for p, f, _ in gated)
            current = one_pass(PassSpec(window=window, exclude=exclude), f"sigma clipping {i + 1}")
            passes += 1
        clipped = np.where(current.pixel_counts() > 0, current.mean, np.nan)
        total = main.pixel_counts().sum()
        fraction = float(1.0 - current.pixel_counts().sum() / total) if total else None
    images = finished(main)
    return DarkResult(images["average"], std_from(main, options.ddof), images["max"], images["min"],
                      np.array(main.pixel_counts()), main.frames_used, main.skipped, gated, clipped, fraction,
                      time.perf_counter() - start, passes, options, [str(p) for p in paths],
                      main.frames_nonfinite, main.frames_partly_nonfinite)


def _gated_frames(frame_means: list[tuple[str, int | None, float]], options: DarkOptions):
    """Frames whose mean is outside the absolute range or the robust band around the median."""
    if not frame_means:
        return []
    values = np.array([m for _, _, m in frame_means])
    reject = ~np.isfinite(values)
    if options.gate_range is not None:
        lo, hi = options.gate_range
        if lo is not None:
            reject |= values < lo
        if hi is not None:
            reject |= values > hi
    if options.gate_sigma is not None:
        med = np.nanmedian(values)
        robust_sigma = 1.4826 * np.nanmedian(np.abs(values - med))
        reject |= np.abs(values - med) > options.gate_sigma * robust_sigma
    return [fm for fm, r in zip(frame_means, reject, strict=True) if r]


# --- what the faces share after the computation: progress rate, provenance, the written images ---
DARK_OUTPUTS = ("average", "std", "max", "min", "clipped_mean")


class FrameRate:
    """Frames per second of each stage of a run (each pass has its own rate, from its first report).

    One meter for the CLI's progress line and the app's job bar, so both show the same number."""

    def __init__(self) -> None:
        self._started: dict[str, tuple[float, int]] = {}

    def __call__(self, p: Progress) -> float:
        t0, n0 = self._started.setdefault(p.stage, (p.elapsed_s, p.done))
        seconds = p.elapsed_s - t0
        return (p.done - n0) / seconds if seconds > 0 else 0.0

    def new_stage(self, p: Progress) -> bool:
        """True when ``p`` is the first report of its stage (call before :meth:`__call__`)."""
        return p.stage not in self._started

    @property
    def stages(self) -> int:
        """How many stages have reported so far."""
        return len(self._started)


def with_rate(progress: Callable[[Progress], None] | None) -> Callable[[Progress], None] | None:
    """Wrap a progress callback so each stage reads "stage · N frames/s" (the rate of that stage)."""
    if progress is None:
        return None
    rate = FrameRate()

    def report(p: Progress) -> None:
        progress(Progress(f"{p.stage} · {rate(p):.0f} frames/s", p.done, p.total, p.elapsed_s))

    return report


def dark_provenance(result: DarkResult, lists: Sequence[str] = ()) -> dict:
    """What the images came from, logged with every one written (the first 20 sources named)."""
    return {"sources": result.sources[:20], "n_sources": len(result.sources), "lists": [str(p) for p in lists],
            "frames_used": result.frames_used, "frames_skipped": len(result.skipped),
            "std": "sample" if result.options.ddof else "population"}


def write_dark_outputs(result: DarkResult, paths: Mapping[str, str | os.PathLike], command: str,
                       inputs: dict) -> dict[str, Path]:
    """Write each named statistics image (a key of :data:`DARK_OUTPUTS`) through the one writer, as a
    new version; returns {name: version written}. ``command`` is logged with ``--NAME`` appended."""
    from calterm.core.io.images import write_image
    from calterm.core.io.writer import write_output

    written: dict[str, Path] = {}
    for name, path in paths.items():
        if name not in DARK_OUTPUTS:
            raise InputError(f"unknown dark output {name!r} (one of {', '.join(DARK_OUTPUTS)})")
        data = getattr(result, name)
        if data is None:
            raise InputError(f"{path}: no {name.replace('_', ' ')} image (it needs a clip sigma)")
        written[name] = write_output(path, lambda tmp, d=data: write_image(tmp, d),
                                     command=f"{command} --{name.replace('_', '-')}", inputs=inputs)
    return written
