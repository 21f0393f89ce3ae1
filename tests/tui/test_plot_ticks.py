"""The tick helper: for every width from 30 to 80 cells and ranges like the plots' own (azimuth,
2θ, residuals in m°, a distance in mm moving by microns, a cost in 1e-7), labels never touch, say
the value of their tick, and are as many as fit."""

from __future__ import annotations

import math

import pytest

from calterm.tui.widgets.cake_plot import axis_line
from calterm.tui.widgets.plot_ticks import label_spans, tick_columns, x_ticks, y_ticks

RANGES = [(-180.0, 180.0), (0.035, 35.04), (-2.73, 2.73), (179.9962, 180.0213), (80.4512, 80.4519),
          (3.1e-7, 1.2e-5), (0.0, 61.0), (-0.0042, 0.0131), (1.47, 3.64), (12345.0, 987654.0), (-1e-3, 1e-3)]


@pytest.mark.parametrize(("lo", "hi"), RANGES)
def test_x_labels_never_touch_at_any_width(lo, hi):
    for cells in range(30, 81):
        ticks = x_ticks(lo, hi, cells)
        spans = label_spans(ticks, cells)
        assert len(ticks.values) >= 2, (cells, ticks)
        assert all(0 <= b < e <= cells for b, e in spans), (cells, spans)
        gaps = [b2 - e1 for (_, e1), (b2, _) in zip(spans, spans[1:], strict=False)]
        assert min(gaps) >= (2 if x_ticks(lo, hi, cells, gap=2) == ticks else 1), (cells, ticks.labels, spans)
        assert len(set(ticks.labels)) == len(ticks.labels)
        # a label says its tick's value, within half a step; ticks are inside the range and round
        step = (ticks.values[-1] - ticks.values[0]) / max(len(ticks.values) - 1, 1)
        for v, label in zip(ticks.values, ticks.labels, strict=True):
            assert lo - 1e-12 <= v <= hi + 1e-12
            assert abs(float(label) - v) <= step / 2, (label, v)
        mantissa = step / 10 ** math.floor(math.log10(step))
        assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 1e-6, step
        # drawn on one line, every label stays a separate word
        assert axis_line(ticks, cells).split() == list(ticks.labels)


def test_more_room_more_ticks():
    counts = [len(x_ticks(0.035, 35.04, cells).values) for cells in range(30, 81)]
    assert counts == sorted(counts) and counts[-1] > counts[0]
    assert x_ticks(-180, 180, 74, steps=(90.0, 45.0, 30.0)).labels == ("-180", "-135", "-90", "-45", "0", "45",
                                                                       "90", "135", "180")
    assert x_ticks(0, 61, 70, integer=True).labels[:3] == ("0", "5", "10")
    assert x_ticks(0, 3, 70, integer=True).labels == ("0", "1", "2", "3")  # no half iterations


@pytest.mark.parametrize(("lo", "hi"), RANGES)
def test_y_labels_own_a_row_each(lo, hi):
    for rows in range(3, 25):
        ticks = y_ticks(lo, hi, rows)
        assert ticks.lo <= lo and ticks.hi >= hi  # the axis may widen to whole steps, never cut the data
        at = tick_columns(ticks.values, ticks.lo, ticks.hi, rows)
        assert all(b - a >= 2 for a, b in zip(at, at[1:], strict=False)), (rows, at)  # a blank row between two labels
        assert len(ticks.values) >= (2 if rows >= 6 else 1)
