"""Per-pixel running statistics of frames that merge exactly, whatever way the run is split.

A :class:`DarkPartial` holds per-pixel float64 count, mean, M2 (sum of squared deviations), max
and min of some frames. Two partials merge with Chan et al.'s pairwise formula, so a run cut into
files, blocks, processes or Dask tasks gives the same numbers (to rounding) as one pass, and memory
never depends on the number of frames.

Inside one piece, :class:`Accumulator` keeps *shifted sums* (sum of x-K and of (x-K)^2) over blocks
of frames rather than per-frame Welford updates: two fewer array passes per frame. Each block is
closed into the piece's running count/mean/M2 with the same exact merge, and the next block's K is
the running mean rounded to an integer: the deviations stay of the order of the noise (whatever the
first frame was: a pixel hit by a cosmic ray or dropped to 0 in it shifts only the first, short
block), so the cancellation that ruins naive sums of squares does not occur. Non-finite values (and, for a
sigma-clipped pass, values outside a per-pixel window) are left out pixel by pixel, hence a
per-pixel count. A frame that is mostly NaN/Inf (more than :data:`NONFINITE_FRAME_SHARE` of its
pixels) is a readout failure, not a frame: it is skipped and counted (``frames_nonfinite``), never
counted as used; a frame with fewer non-finite pixels (gaps or a module stored as NaN) gives its
finite pixels and is counted in ``frames_partly_nonfinite``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from calterm.core.io.frames import FrameRead, FrameUnit, iter_frames
from calterm.errors import InputError

FrameKey = tuple[str, int | None]

# Gaps stored as NaN are a fixed few per cent of every frame; a failed readout is the whole frame (or
# most of it). Half lies far from both, so the rule neither drops gap-NaN detectors' frames nor keeps
# an empty frame as "used".
NONFINITE_FRAME_SHARE = 0.5

# For 8/16-bit frames x - K is an integer below 2**16 in magnitude (K an integer within the data's
# range), so float32 sums of it are exact while below 2**24: 256 frames. They are summed in float32
# over blocks of this many frames, each block then merged into the running float64 statistics: a
# float64 += float32 per frame (a casting pass) was 25 % of a frame's accumulation time (1 Mpx
# uint16: 2.2-3.1 -> 1.6-2.1 ms CPU per frame, in memory). The first block is short so that K
# moves from the first frame to a mean early.
S1_BLOCK = 128
FIRST_BLOCK = 16


@dataclass
class DarkPartial:
    """Statistics of some frames; ``merge`` combines two of them exactly (Chan's formula)."""

    count: np.ndarray  # int64 per pixel (or one int64 for all): frames that contributed a finite value
    mean: np.ndarray
    m2: np.ndarray
    max: np.ndarray
    min: np.ndarray
    frames_used: int = 0
    skipped: list[tuple[str, int | None, str]] = field(default_factory=list)
    frame_means: list[tuple[str, int | None, float]] = field(default_factory=list)
    frames_nonfinite: int = 0  # skipped: mostly NaN/Inf
    frames_partly_nonfinite: int = 0  # used, with some NaN/Inf pixels left out

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> DarkPartial:
        return cls(np.int64(0), np.zeros(shape), np.zeros(shape), np.full(shape, -np.inf), np.full(shape, np.inf))

    def pixel_counts(self) -> np.ndarray:
        return np.broadcast_to(self.count, self.mean.shape)

    def merge(self, other: DarkPartial) -> DarkPartial:
        """Chan et al. (1979): mean and M2 of the union from those of two disjoint parts."""
        n, mean, m2 = chan_merge(self.count, self.mean, self.m2, other.count, other.mean, other.m2)
        return DarkPartial(n, mean, m2, np.fmax(self.max, other.max), np.fmin(self.min, other.min),
                           self.frames_used + other.frames_used, self.skipped + other.skipped,
                           self.frame_means + other.frame_means, self.frames_nonfinite + other.frames_nonfinite,
                           self.frames_partly_nonfinite + other.frames_partly_nonfinite)


def chan_merge(count_a, mean_a, m2_a, count_b, mean_b, m2_b):
    """Count, mean and M2 of the union of two disjoint sets of frames (per pixel; counts may be scalars)."""
    n = count_a + count_b
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n > 0, count_b / np.maximum(n, 1), 0.0)
    delta = mean_b - mean_a
    return n, mean_a + delta * frac, m2_a + m2_b + delta * delta * count_a * frac


def _exact_in_float32(dtype: np.dtype) -> bool:
    """8- and 16-bit integers: x - K is exact in float32 and (x - K)^2 rounds by at most 6e-8 (relative)."""
    return dtype.kind in "iu" and dtype.itemsize <= 2


class Accumulator:
    """Shifted sums of frames of one shape; ``window`` (lo, hi) keeps only lo <= x <= hi per pixel.

    Speed, since a dark run is thousands of frames: for 8/16-bit integer frames (most detectors) the
    per-frame work buffer is float32 (exact differences; squares exact below |x - K| = 4096, where
    re-centring keeps them, else rounded by at most 6e-8 before they are summed in float64), and
    max/min stay in the frame's own dtype, which halves memory traffic.
    """

    def __init__(self, shape: tuple[int, int], window: tuple[np.ndarray, np.ndarray] | None = None,
                 exclude: frozenset[FrameKey] = frozenset(), record_means: bool = False) -> None:
        self.shape = tuple(shape)
        self.window = window
        self.exclude = exclude
        self.record_means = record_means
        self.shift: np.ndarray | None = None
        self._d: np.ndarray | None = None
        self.s1: np.ndarray | None = None  # the current block's sum of x - K with float64 work
        self._b1: np.ndarray | None = None  # the current block's float32 sum of x - K (exact; see S1_BLOCK)
        self._block_frames = 0
        self._block_length = FIRST_BLOCK
        self._spent = False
        # count, mean, M2 of the closed blocks (updated in place: memory stays ~7 images per frame shape)
        self._count: np.ndarray | np.int64 = np.int64(0)
        self._mean = np.zeros(shape)
        self._m2 = np.zeros(shape)
        self.s2 = np.zeros(shape)
        self.max: np.ndarray | None = None  # in the frames' dtype while every frame counted fully
        self.min: np.ndarray | None = None
        self.n_full = 0  # frames where every pixel counted: no per-pixel count update needed
        self.count: np.ndarray | None = None
        self.frames_used = 0
        self.skipped: list[tuple[str, int | None, str]] = []
        self.frame_means: list[tuple[str, int | None, float]] = []
        self.frames_nonfinite = 0
        self.frames_partly_nonfinite = 0

    def add(self, read: FrameRead) -> bool:
        """Add one frame; False if it was skipped (unreadable) or excluded. Wrong shape raises."""
        if self._spent:
            raise RuntimeError("this accumulator's statistics were handed over by partial(); start a new one")
        if read.data is None:
            self.skipped.append((read.path, read.frame, read.error or "unreadable"))
            return False
        if (read.path, read.frame) in self.exclude:
            return False
        x = read.data
        if x.shape != self.shape:
            where = read.path if read.frame is None else f"{read.path} frame {read.frame}"
            raise InputError(f"{where}: shape {x.shape} differs from the run's {self.shape}; "
                             "refusing to mix detectors or binnings in one dark run")
        if self.shift is None:
            if x.dtype.kind == "f" and not np.isfinite(x.sum()) and self._mostly_nonfinite(read, np.isfinite(x)):
                return False  # before it becomes the shift: an all-NaN first frame would shift by 0
            work = np.float32 if _exact_in_float32(x.dtype) else np.float64
            self.shift = np.where(np.isfinite(x), x, 0).astype(work)
            self._d = np.empty(self.shape, work)
        elif self._d.dtype == np.float32 and not _exact_in_float32(x.dtype):  # type: ignore[union-attr]
            self._close_block()  # a wider frame type joined: widen the work buffer
            self.shift = self.shift.astype(np.float64)
            self._d = np.empty(self.shape)
        d = np.subtract(x, self.shift, out=self._d)
        # integer frames are always finite; for float ones one sum tells (NaN/Inf propagate), and
        # only a frame that fails it pays for the per-pixel test
        finite_frame = x.dtype.kind != "f" or bool(np.isfinite(d.sum()))
        if self.window is None and finite_frame:
            self.n_full += 1
            self._add_s1(d)
            d *= d
            self.s2 += d
            self._extremes(x)
        else:
            ok = np.isfinite(d)
            if not finite_frame:
                if self._mostly_nonfinite(read, ok):
                    return False
                self.frames_partly_nonfinite += 1
            self._add_masked(x, d, ok)
        if self.record_means:
            self.frame_means.append((read.path, read.frame, float(np.nanmean(x, dtype=np.float64))))
        self.frames_used += 1
        self._block_frames += 1
        if self._block_frames >= self._block_length:
            self._close_block()
        return True

    def _add_s1(self, d: np.ndarray) -> None:
        if d.dtype != np.float32:  # float frames: float64 throughout
            if self.s1 is None:
                self.s1 = np.zeros(self.shape)
            self.s1 += d
            return
        if self._b1 is None:
            self._b1 = np.zeros(self.shape, np.float32)
        self._b1 += d

    def _close_block(self) -> None:
        """Merge the block's shifted sums into the running statistics; re-centre K on their mean."""
        if self._block_frames == 0:
            return
        # Chan's merge written in place on the block's own buffers (s1 becomes the block's deviation
        # from the running mean, s2 its M2) and one temporary: the out-of-place formula held ~10
        # temporary images at once and raised the 1 Mpx run's peak memory from 115 to 148 MB
        if self.s1 is None:
            self.s1 = self._b1.astype(np.float64)  # type: ignore[union-attr]
        elif self._b1 is not None:
            self.s1 += self._b1
        s1, s2 = self.s1, self.s2
        count = np.int64(self.n_full) if self.count is None else self.count + self.n_full
        safe = np.maximum(count, 1)
        tmp = np.multiply(s1, s1)
        tmp /= safe
        s2 -= tmp
        np.maximum(s2, 0.0, out=s2)  # the block's M2
        s1 /= safe
        s1 += self.shift  # the block's mean (pixels without a value: K, weighted 0 below)
        total = self._count + count
        frac = count / np.maximum(total, 1)
        s1 -= self._mean  # delta
        np.multiply(s1, s1, out=tmp)
        tmp *= self._count * frac
        self._m2 += s2
        self._m2 += tmp
        np.multiply(s1, frac, out=tmp)
        self._mean += tmp
        self._count = total
        # an integer K keeps x - K an exact integer in float32; pixels with no value yet keep theirs
        np.rint(self._mean, out=tmp)
        if np.ndim(total) == 0:
            if total > 0:
                self.shift[...] = tmp  # type: ignore[index]
        else:
            np.copyto(self.shift, tmp, casting="unsafe", where=total > 0)  # type: ignore[arg-type]
        for buffer in (self.s1, self._b1, self.s2):
            if buffer is not None:
                buffer.fill(0)
        self.n_full = 0
        if self.count is not None:
            self.count.fill(0)
        self._block_frames = 0
        self._block_length = S1_BLOCK

    def _mostly_nonfinite(self, read: FrameRead, finite: np.ndarray) -> bool:
        """Skip (and count) the frame when more than NONFINITE_FRAME_SHARE of its pixels are NaN/Inf."""
        bad = finite.size - int(np.count_nonzero(finite))
        if bad <= NONFINITE_FRAME_SHARE * finite.size:
            return False
        self.skipped.append((read.path, read.frame, f"NaN/Inf in {bad} of {finite.size} pixels (a failed readout?)"))
        self.frames_nonfinite += 1
        return True

    def _extremes(self, x: np.ndarray) -> None:
        if self.max is None:
            self.max, self.min = x.copy(), x.copy()
            return
        if self.max.dtype != x.dtype:
            wide = np.result_type(self.max.dtype, x.dtype)
            self.max, self.min = self.max.astype(wide, copy=False), self.min.astype(wide, copy=False)  # type: ignore[union-attr]
        np.maximum(self.max, x, out=self.max)
        np.minimum(self.min, x, out=self.min)

    def _float_extremes(self) -> tuple[np.ndarray, np.ndarray]:
        if self.max is None:
            return np.full(self.shape, -np.inf), np.full(self.shape, np.inf)
        return self.max.astype(np.float64), self.min.astype(np.float64)  # type: ignore[union-attr]

    def _add_masked(self, x: np.ndarray, d: np.ndarray, ok: np.ndarray) -> None:
        if self.window is not None:
            ok &= (x >= self.window[0]) & (x <= self.window[1])
        if self.count is None:
            self.count = np.zeros(self.shape, np.int64)
        self.count += ok
        d[~ok] = 0.0
        self._add_s1(d)
        d *= d
        self.s2 += d
        if self.max is None or self.max.dtype != np.float64:
            self.max, self.min = self._float_extremes()
        xs = np.where(ok, x, np.nan)
        np.fmax(self.max, xs, out=self.max)
        np.fmin(self.min, xs, out=self.min)

    def partial(self) -> DarkPartial:
        self._close_block()
        # one count for all pixels unless some were left out: 8 bytes less per pixel to send and merge
        count, mean, m2 = self._count, self._mean, self._m2  # handed over, not copied: 16 MB per Mpx less
        self._spent = True
        high, low = self._float_extremes()
        return DarkPartial(count, mean, m2, high, low, self.frames_used, list(self.skipped), list(self.frame_means),
                           self.frames_nonfinite, self.frames_partly_nonfinite)


def accumulate_units(units: Iterable[FrameUnit], shape: tuple[int, int],
                     window: tuple[np.ndarray, np.ndarray] | None = None,
                     exclude: frozenset[FrameKey] = frozenset(), record_means: bool = False,
                     on_frame=None) -> DarkPartial:
    """Statistics of every frame of ``units`` (the task one worker runs); ``on_frame()`` after each."""
    acc = Accumulator(shape, window, exclude, record_means)
    for unit in units:
        for read in iter_frames(unit):
            acc.add(read)
            if on_frame is not None:
                on_frame()
    return acc.partial()


def std_from(partial: DarkPartial, ddof: int = 0) -> np.ndarray:
    """Per-pixel standard deviation: population (ddof 0, as cxi.mpi_average) or sample (ddof 1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = partial.pixel_counts() - ddof
        return np.where(n > 0, np.sqrt(partial.m2 / np.maximum(n, 1)), np.nan)


def finished(partial: DarkPartial) -> dict[str, np.ndarray]:
    """Average, max and min images; NaN where no frame gave a value."""
    none = partial.pixel_counts() == 0
    return {
        "average": np.where(none, np.nan, partial.mean),
        "max": np.where(none, np.nan, partial.max),
        "min": np.where(none, np.nan, partial.min),
    }
