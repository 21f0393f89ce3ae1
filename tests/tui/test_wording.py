"""Issue 15 item 9, wording: a finished job says "done in 1.2 s" (not its last progress report and
a 0 % bar), a cancelled one says "cancelled" once, and an engine hint inside the app names the field
or key to use, not the CLI flag (the CLI keeps its flags)."""

from __future__ import annotations

import asyncio
import re

import numpy as np
from textual.widgets import DataTable, ProgressBar, Static

from calterm.tui.widgets.job_bar import JobBar
from calterm.tui.wording import in_app_words


def _bar_text(app) -> str:
    return str(app.screen.query_one(JobBar).visual)


def test_a_finished_job_says_done_in_seconds_and_its_bar_is_full(tui, tmp_path):
    image = tmp_path / "small.npy"
    np.save(image, np.ones((64, 64)))

    async def go():
        app = tui.open_app([str(image), "--detector", "Pilatus100k"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)

            def job(ctx):
                ctx.report("refine", 0, 50)  # the last report before the job returns
                return 1

            app.jobs.start("Slow", job)
            await tui.settle(app, pilot)
            await pilot.pause(0.3)  # the job bar polls its record ten times a second
            assert re.search(r"✓ Slow done in \d+\.\d s$", _bar_text(app).rstrip()), _bar_text(app)
            await pilot.press("4")
            await pilot.pause(0.5)
            stage = str(app.screen.query_one("#stage", Static).visual)
            assert re.fullmatch(r"Slow done in \d+\.\d s", stage.strip()), stage
            assert "0/50" not in stage
            bar = app.screen.query_one("#bar", ProgressBar)
            assert bar.percentage == 1.0  # main showed the last report's 0 %

    asyncio.run(go())


def test_a_cancelled_job_says_cancelled_once(tui, tmp_path):
    image = tmp_path / "small.npy"
    np.save(image, np.ones((64, 64)))

    async def go():
        app = tui.open_app([str(image), "--detector", "Pilatus100k"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)

            def grind(ctx):
                import time

                while True:
                    ctx.report("grind")
                    time.sleep(0.01)

            record = app.jobs.start("Grind", grind)
            await pilot.pause(0.3)
            await pilot.press("escape")
            await tui.settle(app, pilot)
            await pilot.pause(0.3)
            assert record.status == "cancelled" and record.message == ""
            text = _bar_text(app)
            assert "cancelled: cancelled" not in text and text.count("cancelled") == 1, text
            assert re.search(r"■ Grind cancelled after \d+\.\d s$", text.rstrip()), text
            await pilot.press("4")
            await pilot.pause(0.5)
            row = app.screen.query_one("#history", DataTable).get_row_at(0)
            assert [str(c) for c in row][1::2] == ["cancelled", ""]  # outcome, and no repeated reason

    asyncio.run(go())


def test_the_no_detector_hint_names_the_apps_fields_not_cli_flags(tui, tmp_path):
    image = tmp_path / "odd_shape.npy"  # no registry detector has this shape
    np.save(image, np.random.default_rng(0).random((37, 41)))

    async def go():
        app = tui.open_app([str(image), "--wavelength", "1.0"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("c")
            await tui.settle(app, pilot)
            record = app.jobs.finished[0]
            assert record.name == "Calibrate" and record.status == "failed"
            assert "--" not in record.message, record.message
            assert "Detector field" in record.message and "Pixel size µm field" in record.message
            await pilot.pause(0.5)  # the side panel of screen 1 shows the same engine error
            info = str(app.screen.query_one("#info", Static).visual)
            assert "no detector" in info and "--" not in info, info

    asyncio.run(go())


def test_every_engine_flag_hint_reads_as_a_field():
    assert in_app_words("no detector in pyFAI's registry has shape (37, 41): give --detector NAME or "
                        "--pixel-size UM") == ("no detector in pyFAI's registry has shape (37, 41): fill the "
                                              "Detector field (d: list) or the Pixel size µm field")
    assert in_app_words("the distance is fixed: give its value (--distance MM)") == (
        "the distance is fixed: give its value (the Distance mm field)")
    assert in_app_words("blob detection found no peaks: try --peak-method spokes or massif") == (
        "blob detection found no peaks: try another peak method (screen 3)")
    assert in_app_words("--bins must be at least 10, not 3") == "the bins field must be at least 10, not 3"
    assert in_app_words("a plain message, 2-3 px") == "a plain message, 2-3 px"
