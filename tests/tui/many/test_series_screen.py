"""The series screen at 80x24 (issue 16): a rendered drift series (20 µm and 0.02 px per image, the
detector knocked back 0.5 mm before image 4) run from the keyboard; rows arrive while the job runs,
the table holds the injected drift, the jump is the one row marked !, the plot follows the chosen
parameter, w writes the CSV next to the images; a watched folder takes new images as they land and esc stops it
with the rows so far kept."""

from __future__ import annotations

import asyncio
import csv

import numpy as np
import pytest
from textual import events

from calterm.core.common.geometry import PoniGeometry
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import drift_series

WAVELENGTH = 0.3e-10
BASE = SyntheticCase(None, "LaB6", PoniGeometry(0.2, 0.05, 0.052, 0.01, -0.006, 0.0, WAVELENGTH),
                     shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=21)
DRIFT = {"dist": 20e-6, "poni1": 5e-6}
JUMP_AT, JUMP = 4, {"dist": 0.5e-3}
N = 6


@pytest.fixture
def run(isolated_home):
    folder = isolated_home / "run"
    folder.mkdir()
    return drift_series(BASE, N, folder, DRIFT, {JUMP_AT: JUMP})


def _open(tui, run):
    return tui.open_app([str(run[0][0]), "--calibrant", "LaB6", "--wavelength", "0.3", "--pixel-size", "250"])


async def _to_series(app, pilot, tui):
    await tui.settle(app, pilot)
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"go to series")
    await pilot.pause(0.5)
    await pilot.press("enter")
    await tui.settle(app, pilot)
    assert app.current_mode == "series"


def test_series_fills_the_table_live_with_the_drift_and_flags_the_jump(tui, run, isolated_home):
    async def go():
        app = _open(tui, run)
        async with app.run_test(size=(80, 24)) as pilot:
            await _to_series(app, pilot, tui)
            screen = app.screen
            assert screen.values()["source"] == str(run[0][0].parent / "*.tif")  # the session image's folder
            # r, posted as a terminal would send it: pilot.press waits for an idle loop, which the
            # fitting thread (holding the GIL) denies it until the series is over
            app.post_message(events.Key("r", "r"))
            table = screen.query_one("#series-table")
            seen_live = False
            for _ in range(600):  # rows while the job still runs: one message per image
                await pilot.pause(0.05)
                if app.jobs.busy and table.row_count >= 1:
                    seen_live = True
                if not app.jobs.busy:
                    break
            await tui.settle(app, pilot)
            assert seen_live
            result = screen.result
            assert result is not None and len(result.rows) == N and table.row_count == N
            for row, (_, truth) in zip(result.rows, run, strict=True):
                assert abs(row.dist_mm - truth.dist * 1e3) < 0.010
            steps = np.diff([r.dist_mm for r in result.rows])
            assert np.allclose(np.delete(steps, JUMP_AT - 1), DRIFT["dist"] * 1e3, atol=0.008)
            assert abs(steps[JUMP_AT - 1] - (DRIFT["dist"] + JUMP["dist"]) * 1e3) < 0.008
            marks = [str(table.get_row_at(k)[0]) for k in range(N)]
            assert marks == ["!" if k == JUMP_AT else "" for k in range(N)]
            assert str(table.get_row_at(JUMP_AT)[-1]).startswith("distance jump +0.5")
            for k in (0, JUMP_AT):
                assert str(table.get_row_at(k)[3]) == f"{result.rows[k].dist_mm:.4f}"
            text = tui.screen_text(app)
            assert f"{N} images, 0 skipped, 1 flagged (!)" in text
            await pilot.press("p")  # the plot, centre x next
            await pilot.pause(0.3)
            plot = screen.query_one("#series-plot")
            assert plot.series == "center_x"
            x, y, flagged = plot.values()
            assert list(x) == list(range(N)) and list(np.flatnonzero(flagged)) == [JUMP_AT]
            assert np.allclose(y, [r.center_x for r in result.rows])
            assert "centre x (px) by image" in tui.screen_text(app)
            await pilot.press("w")
            await tui.settle(app, pilot)
            await pilot.press("ctrl+q")
        written = run[0][0].parent / "drift.csv"
        assert written.with_name("drift.v0.csv").is_file()
        rows = list(csv.DictReader(written.open()))
        assert len(rows) == N and rows[JUMP_AT]["flags"].startswith("distance jump")
        assert abs(float(rows[2]["dist_mm"]) - result.rows[2].dist_mm) < 1e-6

    asyncio.run(go())


def test_bad_source_is_one_line(tui, run):
    async def go():
        app = _open(tui, run)
        async with app.run_test(size=(80, 24)) as pilot:
            await _to_series(app, pilot, tui)
            screen = app.screen
            screen.set_value("source", "nowhere/*.tif")
            await pilot.press("r")
            await pilot.pause(0.2)
            assert str(screen.query_one("#series-error").render()) == "Images / folder: nowhere/*.tif: no such file"
            assert screen.query_one("#f-source").has_class("-invalid-value") and app.jobs.current is None
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_watched_folder_takes_new_images_as_they_land(tui, run, isolated_home):
    import shutil

    incoming = isolated_home / "incoming"
    incoming.mkdir()

    async def go():
        app = _open(tui, run)
        async with app.run_test(size=(80, 24)) as pilot:
            await _to_series(app, pilot, tui)
            screen = app.screen
            await pilot.press("t")
            await pilot.pause(0.1)
            assert screen.watching and "[x] watch the folder" in tui.screen_text(app)
            screen.set_value("source", str(incoming))
            await pilot.press("r")
            await pilot.pause(0.5)
            assert app.jobs.busy  # waiting for images
            (incoming / "junk.tif").write_bytes(b"not an image")  # unreadable: skipped, counted, no stop
            await pilot.pause(0.6)
            for k in range(2):
                shutil.copy(run[k][0], incoming / f"img_{k}.part")  # written, then renamed in
                (incoming / f"img_{k}.part").rename(incoming / f"img_{k}.tif")
            table = screen.query_one("#series-table")
            for _ in range(600):
                await pilot.pause(0.05)
                if table.row_count >= 2:
                    break
            assert app.jobs.busy  # still watching
            await pilot.press("r")  # r while it runs: a note, the rows stay
            await pilot.pause(0.1)
            assert table.row_count == 2 and app.jobs.busy
            await pilot.press("escape")  # esc stops cleanly: the table is kept
            await tui.settle(app, pilot)
            result = screen.result
            assert [r.image.rsplit("/", 1)[1] for r in result.rows] == ["img_0.tif", "img_1.tif"]
            assert len(result.skipped) == 1 and result.cancelled
            assert abs(result.rows[1].dist_mm - run[1][1].dist * 1e3) < 0.010
            assert "2 images, 1 skipped, 0 flagged (!) · stopped: cancelled" in tui.screen_text(app)
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_a_resumed_session_shows_the_last_series_and_writes_it(tui, run, isolated_home):
    """The drift table survives a quit before w (or a dropped connection): ``--resume`` shows the
    same rows, flags and counts, and w writes them (no rerun). Today's main kept only the counts."""

    async def first():
        app = _open(tui, run)
        async with app.run_test(size=(80, 24)) as pilot:
            await _to_series(app, pilot, tui)
            app.post_message(events.Key("r", "r"))
            for _ in range(600):
                await pilot.pause(0.05)
                if not app.jobs.busy and app.screen.result is not None:
                    break
            await tui.settle(app, pilot)
            rows = list(app.screen.result.rows)
            await pilot.press("ctrl+q")  # quit before w
        return rows

    async def resumed(ran):
        app = tui.open_app(["--resume"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.current_mode == "series"  # the screen the session was left on
            screen = app.screen
            table = screen.query_one("#series-table")
            assert table.row_count == N and screen.result is not None and app.jobs.current is None
            assert [r.dist_mm for r in screen.result.rows] == [r.dist_mm for r in ran]
            assert [r.flags for r in screen.result.rows] == [r.flags for r in ran]
            assert [str(table.get_row_at(k)[0]) for k in range(N)] == ["!" if r.flags else "" for r in ran]
            assert str(table.get_row_at(2)[3]) == f"{ran[2].dist_mm:.4f}"
            assert f"last run: {N} images, 0 skipped, 1 flagged (!)" in tui.screen_text(app)
            x, y, _ = screen.query_one("#series-plot").values()
            assert np.allclose(y, [r.dist_mm for r in ran])
            await pilot.press("w")
            await tui.settle(app, pilot)
            await pilot.press("ctrl+q")

    ran = asyncio.run(first())
    asyncio.run(resumed(ran))
    written = run[0][0].parent / "drift.csv"
    rows = list(csv.DictReader(written.open()))
    assert [float(r["dist_mm"]) for r in rows] == pytest.approx([r.dist_mm for r in ran], abs=1e-6)  # the CSV has 10 digits
    assert rows[JUMP_AT]["flags"].startswith("distance jump")
