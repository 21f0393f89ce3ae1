"""A series recalibrated image after image: the drift table behind ``calterm series``.

The first image (and any image the fast path doubts) goes through the full pipeline
(:func:`calterm.core.calibrate.pipeline.calibrate`), started from the previous geometry's centre
and distance; the others through :mod:`.fast`. Only the last good geometry and the table's rows
are kept between images, so memory stays flat in the number of images. Unreadable images (and
images of another shape) are skipped and counted, never a stop. Cancelling (Ctrl+C, ``esc``)
ends the loop between two steps; the rows so far are the result.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace

import numpy as np

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.common.jobs import JobContext
from calterm.core.series.fast import Reference, fast_recalibrate
from calterm.errors import CaltermError, Cancelled


@dataclass(frozen=True)
class SeriesOptions:
    """When a step between two images is flagged as a jump."""

    jump_mm: float = 0.1
    jump_px: float = 1.0
    fast: bool = True  # False: every image through the full pipeline


@dataclass(frozen=True)
class DriftRow:
    """One image of the series: when, where the detector was, how well it fitted."""

    index: int
    image: str
    time_s: float  # the file's modification time (s since the epoch)
    dist_mm: float
    center_x: float
    center_y: float
    rot1: float
    rot2: float
    rot3: float
    wavelength_A: float
    rms_2th_deg: float
    n_points: int
    verdict: str
    method: str  # "fast" or "full"
    seconds: float
    flags: tuple[str, ...] = ()
    reason: str = ""


COLUMNS = ("index", "image", "time_s", "dist_mm", "center_x", "center_y", "rot1", "rot2", "rot3", "wavelength_A",
           "rms_2th_deg", "n_points", "verdict", "method", "seconds", "flags", "reason")


_FLOATS = {f.name for f in fields(DriftRow) if f.type == "float"}


@dataclass
class SeriesResult:
    rows: list[DriftRow] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line reason)
    cancelled: bool = False
    stop_reason: str = ""

    def summary(self) -> dict:
        return {"images": len(self.rows), "skipped": len(self.skipped),
                "skipped_files": [{"image": p, "reason": r} for p, r in self.skipped],
                "cancelled": self.cancelled, "stop_reason": self.stop_reason,
                "flagged": [r.index for r in self.rows if r.flags],
                "rows": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in r.__dict__.items()} for r in self.rows]}

    @classmethod
    def from_summary(cls, doc: dict) -> SeriesResult:
        """The result back from its :meth:`summary` (a JSON drift table, or the app's saved session):
        a resumed app shows and writes the rows of a series it ran before, without running it again."""
        def value(k, v):  # JSON holds a non-finite number as null (plain_json)
            return math.nan if v is None and k in _FLOATS else v

        rows = [DriftRow(**{**{k: value(k, row[k]) for k in COLUMNS if k in row}, "flags": tuple(row.get("flags", ()))})
                for row in doc.get("rows", ())]
        skipped = [(s["image"], s["reason"]) for s in doc.get("skipped_files", ())]
        return cls(rows, skipped, bool(doc.get("cancelled", False)), str(doc.get("stop_reason", "")))


@dataclass
class _State:
    ref: Reference | None = None
    static_valid: np.ndarray | None = None
    shape: tuple[int, int] | None = None
    tth_rad: np.ndarray | None = None
    d_A: np.ndarray | None = None
    step: np.ndarray | None = None  # the last fast step (PONI vector), while the drift is steady

    def predicted(self):
        """Where a steady drift takes the geometry next: fewer extraction passes (each pass removes
        only part of a prediction's offset), None when there is no steady step to follow."""
        if self.step is None or self.ref is None:
            return None
        from calterm.core.common.geometry import PARAMS

        return self.ref.geometry.with_vector(PARAMS, self.ref.geometry.as_vector() + self.step)


def run_series(first: CalibrationRequest, paths: Iterable[str], options: SeriesOptions = SeriesOptions(),
               ctx: JobContext | None = None, on_row: Callable[[DriftRow], None] | None = None,
               total: int = 0) -> SeriesResult:
    """Recalibrate each image in ``paths`` (a list, or a watched folder's stream) in turn."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # small BLAS calls: threads only spin (as in pipeline.calibrate)
        return _run(first, paths, options, ctx or JobContext(), on_row, total)


def _run(first, paths, options, ctx, on_row, total) -> SeriesResult:
    out = SeriesResult()
    state = _State()
    previous: DriftRow | None = None
    try:
        for path in paths:
            ctx.report(f"image {len(out.rows) + len(out.skipped) + 1}", len(out.rows) + len(out.skipped), total)
            t = time.perf_counter()
            try:
                row = _one(first, path, len(out.rows), state, options, ctx)
            except Cancelled:
                raise
            except (CaltermError, OSError, ValueError) as exc:
                out.skipped.append((str(path), str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
                continue
            row = replace(row, seconds=time.perf_counter() - t, flags=_flags(row, previous, options))
            if row.verdict == "good":
                previous = row
            out.rows.append(row)
            if on_row is not None:
                on_row(row)
    except Cancelled:
        pass
    if ctx.cancel.is_set:  # raised here, or a watched folder's stream ended on it
        out.cancelled = True
        out.stop_reason = "cancelled"
    return out


def _flags(row: DriftRow, previous: DriftRow | None, options: SeriesOptions) -> tuple[str, ...]:
    flags = []
    if row.verdict != "good":
        flags.append(row.verdict)
    if previous is not None and row.verdict == "good":
        if abs(row.dist_mm - previous.dist_mm) > options.jump_mm:
            flags.append(f"distance jump {row.dist_mm - previous.dist_mm:+.3f} mm")
        moved = float(np.hypot(row.center_x - previous.center_x, row.center_y - previous.center_y))
        if moved > options.jump_px:
            flags.append(f"centre jump {moved:.2f} px")
    return tuple(flags)


def _one(first: CalibrationRequest, path: str, index: int, state: _State, options: SeriesOptions,
         ctx: JobContext) -> DriftRow:
    from calterm.core.io.images import load_image

    mtime = os.stat(str(path).split("::", 1)[0]).st_mtime
    if state.ref is not None and options.fast:
        image = load_image(path, first.frame, first.rotate, first.flip)
        if image.shape != state.shape:
            raise CaltermError(f"{image.shape[1]}x{image.shape[0]} px, the series is {state.shape[1]}x{state.shape[0]}")
        valid = state.static_valid & ~image.invalid
        if first.i_max is not None:
            valid &= image.data < first.i_max
        fit = fast_recalibrate(image.data, valid, state.ref, state.tth_rad, state.d_A, first.constraints,
                               state.predicted())
        if fit.ok:
            rms = float(np.sqrt(np.mean(fit.residual_rad**2)))
            step = fit.geometry.as_vector() - state.ref.geometry.as_vector()
            moved = np.hypot(*np.subtract(fit.geometry.beam_center_px(state.ref.detector),
                                          state.ref.geometry.beam_center_px(state.ref.detector)))
            steady = abs(step[0]) * 1e3 <= options.jump_mm and moved <= options.jump_px
            state.step = step if steady else None  # a jump is not a drift to follow
            state.ref = replace(state.ref, geometry=fit.geometry)
            return _row(index, path, mtime, fit.geometry, state.ref.detector, rms, len(fit.points), "good", "fast", "")
        reason = "; ".join(fit.reasons)
    else:
        reason = ""
    return _full(first, path, index, mtime, state, ctx, reason)


def _full(first: CalibrationRequest, path: str, index: int, mtime: float, state: _State, ctx: JobContext,
          why: str) -> DriftRow:
    """The whole pipeline, from the previous good geometry's centre and distance when there is one."""
    from calterm.core.calibrate.pipeline import calibrate, prepare
    from calterm.core.common.detectors import detector_mask
    from calterm.core.io.images import load_mask

    request = replace(first, image_path=str(path))
    if state.ref is not None:
        g, det = state.ref.geometry, state.ref.detector
        request = replace(request, center_xy=g.beam_center_px(det), distance_mm=g.dist * 1e3)
    result = calibrate(request, JobContext(cancel=ctx.cancel))
    if state.shape is not None and result.shape != state.shape:
        raise CaltermError(f"{result.shape[1]}x{result.shape[0]} px, the series is {state.shape[1]}x{state.shape[0]}")
    if state.static_valid is None:  # the first image: what stays the same for the whole series
        prep = prepare(request)
        static = ~detector_mask(prep.detector, prep.image.shape)
        if request.mask_path:
            static &= ~load_mask(request.mask_path, prep.image.shape, request.rotate, request.flip)
        state.static_valid, state.shape, state.tth_rad, state.d_A = static, prep.image.shape, prep.tth_rad, prep.d_A
    status = result.verdict.status
    state.step = None
    if result.verdict.ok:
        rms = float(np.sqrt(np.mean(result.residual_rad**2)))
        state.ref = Reference(result.geometry, result.detector, tuple(int(r) - 1 for r in np.unique(result.ring)), rms)
    reason = "; ".join(result.verdict.reasons) if not result.verdict.ok else ""
    if why:
        reason = f"fast path: {why}" + (f"; full: {reason}" if reason else "")
    return _row(index, path, mtime, result.geometry, result.detector, float(np.radians(result.rms_2th_deg)),
                int(result.rows.size), status, "full", reason)


def _row(index, path, mtime, geometry, detector, rms_rad, n, verdict, method, reason) -> DriftRow:
    x, y = geometry.beam_center_px(detector)
    return DriftRow(index, str(path), mtime, geometry.dist * 1e3, x, y, geometry.rot1, geometry.rot2, geometry.rot3,
                    geometry.wavelength * 1e10, float(np.degrees(rms_rad)), n, verdict, method, 0.0, reason=reason)
