"""The defect of issue 15: plots squeezed to a few rows printed their axis labels run together
("2.6180", "3.640.0": a y label over an x label, two y ticks on one row). A plot given little room
keeps every label one number, apart from the next, whatever its height or width. Only widgets that
existed before the fix are used, so this test reads the same on the old code."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from textual.app import App

from calterm.tui.widgets.pattern_plot import PatternPlot
from calterm.tui.widgets.residual_plot import ResidualPlot

NUMBER = re.compile(r"^-?\d+(\.\d+)?(e-?\d+)?$")
NOT_TEXT = re.compile("[\u2800-\u28ff─│┌┐└┘┬┴┼┤├•▼]")  # braille, the frame, markers
TITLE_WORDS = {"Δ2θ", "log10", "2θ"}  # the words of the titles that hold digits


class One(App):
    def __init__(self, widget, height: int) -> None:
        super().__init__()
        self.widget = widget
        self.widget.styles.height = height
        self.widget.styles.min_height = 0

    def compose(self):
        yield self.widget


def words(line: str) -> list[str]:
    return NOT_TEXT.sub(" ", line).split()


def make(kind: str):
    rng = np.random.default_rng(1)
    if kind == "residuals":
        w = ResidualPlot(id="plot")
        az = rng.uniform(-180, 180, 2000)
        w.show(az, 2.6 * np.sin(np.radians(az)), rng.integers(1, 8, az.size))
    else:
        w = PatternPlot(id="plot")
        tth = np.linspace(0.035, 35.04, 1200)
        w.show(tth, 30 + 4e3 * np.exp(-((tth % 3.7 - 1.8) / 0.05) ** 2), [3.7, 7.4, 11.1])
    return w


@pytest.mark.parametrize(("width", "height"), [(80, 4), (60, 4), (80, 5), (80, 6), (60, 7), (40, 10)])
@pytest.mark.parametrize("kind", ["residuals", "pattern"])
def test_small_plots_never_merge_labels(kind, width, height):
    async def go():
        widget = make(kind)
        app = One(widget, height)
        async with app.run_test(size=(width, 24)) as pilot:
            await pilot.pause()
            r = widget.region
            assert r.height == height
            lines = [s.text[r.x:r.x + r.width] for s in app.screen._compositor.render_strips()[r.y:r.y + r.height]]
            text = "\n".join(lines)
            # the title starts its row: no y label printed over it ("-1.7Δ2θ")
            assert words(lines[0])[:1] in ([], ["Δ2θ"], ["pattern,"]), text
            # every word holding a digit is one number or a title's word
            for line in lines:
                for w in words(line):
                    assert not re.search(r"\d", w) or NUMBER.match(w) or w in TITLE_WORDS, (w, text)
            # the x labels read left to right in increasing order: a y label over the first x label
            # ("2.6" over "-180": "2.6180") breaks the order
            numbers = [[float(w) for w in words(line) if NUMBER.match(w)] for line in lines]
            xs = max(numbers, key=len)
            assert len(xs) >= 3 and xs == sorted(xs) and len(set(xs)) == len(xs), text

    asyncio.run(go())
