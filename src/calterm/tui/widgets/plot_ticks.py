"""Axis ticks that fit the cells a plot has: how many ticks, where, and labels short enough that
no two touch.

plotext picks five ticks whatever the plot's size and prints them with as many digits as it takes
to tell them apart, so a plot a few rows high or a few dozen columns wide shows labels run
together ("3.640.0"). Here the tick count follows from the room: the step is a round number
(1, 2, 2.5 or 5 times a power of ten), labels carry only the decimals the step needs, and a count is
accepted only if every label, centred on its tick, keeps ``gap`` blank cells from the next (one
blank when two or more cells would leave a single tick). The
same placement rule (:func:`label_spans`) is what the tests check, for every width from 30 to 80.

Pure functions, no terminal: the plot widgets call :func:`x_ticks` and :func:`y_ticks` with their
size and hand the result to plotext (``xticks``/``yticks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEPS = (1.0, 2.0, 2.5, 5.0)  # matplotlib's round steps
MAX_WIDENING = 1.25  # a y range widened to whole steps grows by a quarter at most


@dataclass(frozen=True)
class Ticks:
    """Tick positions (data units) and their labels, drawn as given."""

    values: tuple[float, ...]
    labels: tuple[str, ...]
    lo: float
    hi: float


def nice_steps(span: float, integer: bool = False):
    """Round steps (1, 2, 2.5, 5 × 10^k) from about ``span`` down to a 50th of it, largest first."""
    if not math.isfinite(span) or span <= 0:
        return
    k = math.floor(math.log10(span))
    for power in range(k, k - 3, -1):
        for m in reversed(STEPS):
            step = m * 10.0**power
            if step <= span and (not integer or (step >= 1 and step == round(step))):
                yield step


def decimals_for(step: float) -> int:
    """Decimals that show ``step`` exactly (0.5 -> 1, 0.25 -> 2, 20 -> 0)."""
    d = max(0, -math.floor(math.log10(step) + 1e-9))
    while d < 12 and abs(step * 10**d - round(step * 10**d)) > 1e-6:
        d += 1
    return d


def format_ticks(values, step: float) -> tuple[str, ...]:
    """Labels with the decimals the step needs; very large or small numbers in short e-notation,
    with as many digits as it takes to tell the ticks apart."""
    biggest = max((abs(v) for v in values), default=0.0)
    if biggest >= 1e5 or 0 < biggest < 1e-3:
        digits = max(1, math.floor(math.log10(biggest / step)) + 1)
        labels = tuple(_short_e(v, digits) for v in values)
        while len(set(labels)) < len(labels) and digits < 15:
            digits += 1
            labels = tuple(_short_e(v, digits) for v in values)
        return labels
    d = decimals_for(step)
    return tuple(f"{0.0 if abs(v) < step * 1e-6 else v:.{d}f}" for v in values)


def _short_e(v: float, digits: int) -> str:
    """``1.5e-06`` as ``1.5e-6``: the exponent without padding saves cells."""
    if v == 0:
        return "0"
    mantissa, exp = f"{v:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exp)}"


def tick_columns(values, lo: float, hi: float, cells: int) -> list[int]:
    """The cell of each value on an axis ``cells`` wide (plotext's own mapping)."""
    if hi == lo:
        return [0 for _ in values]
    return [math.floor(round(0.5 + (cells - 1) * (v - lo) / (hi - lo), 8)) for v in values]


def label_spans(ticks: Ticks, cells: int) -> list[tuple[int, int]]:
    """[start, end) cells of each label centred on its tick and kept inside the axis."""
    spans = []
    for col, label in zip(tick_columns(ticks.values, ticks.lo, ticks.hi, cells), ticks.labels, strict=True):
        start = min(max(col - len(label) // 2, 0), max(cells - len(label), 0))
        spans.append((start, start + len(label)))
    return spans


def fits(ticks: Ticks, cells: int, gap: int) -> bool:
    """Every label inside the axis and ``gap`` blank cells from the next one."""
    spans = label_spans(ticks, cells)
    if any(e > cells for _, e in spans):
        return False
    return all(b2 - e1 >= gap for (_, e1), (b2, _) in zip(spans, spans[1:], strict=False))


def _ticks_with_step(lo: float, hi: float, step: float) -> Ticks:
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    values = tuple(i * step for i in range(first, last + 1))
    return Ticks(values, format_ticks(values, step), lo, hi)


def _most_ticks(lo: float, hi: float, ok, limit: int, steps, snap: bool = False) -> Ticks | None:
    """The ticks with the most labels that ``ok`` accepts, over the candidate steps (and, with
    ``snap``, over the range widened to whole steps, which spaces ticks evenly on the cells); failing
    two, the outer two ticks of the finest step whose pair ``ok`` accepts (long labels, little room)."""
    best = None
    candidates = []
    for step in steps:
        candidates.append(_ticks_with_step(lo, hi, step))
        wide = (math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step)
        if snap and wide[1] - wide[0] <= MAX_WIDENING * (hi - lo):
            candidates.append(_ticks_with_step(*wide, step))
    for ticks in candidates:
        if len(ticks.values) > limit:
            break
        if ok(ticks) and (best is None or len(ticks.values) > len(best.values)):
            best = ticks  # a finer step can fail (2.5: longer labels) where the next (2) fits
    if best is None or len(best.values) < 2:
        for ticks in candidates:
            if len(ticks.values) >= 2:
                pair = Ticks(ticks.values[::len(ticks.values) - 1], ticks.labels[::len(ticks.labels) - 1], ticks.lo,
                             ticks.hi)
                if ok(pair):
                    return pair
    return best


def _degenerate(lo: float, hi: float) -> Ticks | None:
    if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
        return None
    v = lo if math.isfinite(lo) else 0.0
    return Ticks((v,), (f"{v:.4g}",), v - 1.0, v + 1.0)


def _first_unlabelled(lo: float, hi: float, integer: bool) -> Ticks:
    first = _ticks_with_step(lo, hi, next(nice_steps(hi - lo, integer), hi - lo))
    return Ticks(first.values[:1], ("",), lo, hi)


def x_ticks(lo: float, hi: float, cells: int, *, gap: int = 2, integer: bool = False,
            steps: tuple[float, ...] | None = None) -> Ticks:
    """The most ticks on [lo, hi] whose labels fit ``cells`` columns with ``gap`` blanks between.

    ``steps``, largest first, replaces the round steps (an azimuth axis: 90, 45, 30...). A
    degenerate range (lo == hi, NaN) gets one tick.
    """
    lo, hi = float(lo), float(hi)
    if (flat := _degenerate(lo, hi)) is not None:
        return flat
    best = _most_ticks(lo, hi, lambda t: fits(t, cells, gap), max(cells // 3, 2),
                       list(steps or nice_steps(hi - lo, integer)))
    if (best is None or len(best.values) < 2) and gap > 1:  # long labels on a narrow axis: one blank will do
        closer = x_ticks(lo, hi, cells, gap=1, integer=integer, steps=steps)
        best = closer if best is None or len(closer.values) >= 2 else best
    return best if best is not None else _first_unlabelled(lo, hi, integer)


def y_ticks(lo: float, hi: float, rows: int, *, gap_rows: int = 1, integer: bool = False) -> Ticks:
    """Ticks for a vertical axis ``rows`` high: each label on its own row, ``gap_rows`` blank rows
    between two labels, so labels never overwrite each other. The range (``lo``, ``hi`` of the
    result) may widen to whole steps where that fits more ticks: draw the axis over it."""
    lo, hi = float(lo), float(hi)
    if (flat := _degenerate(lo, hi)) is not None:
        return flat

    def apart(ticks: Ticks) -> bool:
        at = tick_columns(ticks.values, ticks.lo, ticks.hi, rows)
        return all(b - a > gap_rows for a, b in zip(at, at[1:], strict=False))

    best = _most_ticks(lo, hi, apart, rows, list(nice_steps(hi - lo, integer)), snap=True)
    return best if best is not None else _first_unlabelled(lo, hi, integer)


def padded_range(lo: float, hi: float, fraction: float = 0.05) -> tuple[float, float]:
    """[lo, hi] widened by ``fraction`` of its span (or by 1 when it is a single value)."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    span = hi - lo
    pad = fraction * span if span > 0 else max(abs(lo) * 1e-3, 1e-9)
    return lo - pad, hi + pad
