"""A series recalibrated image after image (issue 16): the drift table recovers an injected drift
and jump, unreadable images are skipped and counted, cancel stops cleanly, a watched folder
picks new images up and ends when it disappears."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.jobs import JobContext
from calterm.core.series.run import SeriesOptions, run_series
from calterm.core.series.table import drift_csv, write_drift_table
from calterm.core.series.watch import FolderWatch
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import drift_series

WAVELENGTH = 0.3e-10
BASE = SyntheticCase(None, "LaB6", PoniGeometry(0.2, 0.05, 0.052, 0.01, -0.006, 0.0, WAVELENGTH),
                     shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=21)
DRIFT = {"dist": 20e-6, "poni1": 5e-6}  # per image: 20 µm of distance, 0.02 px of centre
JUMP_AT, JUMP = 4, {"dist": 0.5e-3}  # the detector knocked back 0.5 mm before image 4
N = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return drift_series(BASE, N, tmp_path_factory.mktemp("series"), DRIFT, {JUMP_AT: JUMP})


def _first(path) -> CalibrationRequest:
    return CalibrationRequest(str(path), "LaB6", WAVELENGTH, pixel_size_um=250.0)


@pytest.fixture(scope="module")
def result(run):
    return run_series(_first(run[0][0]), [str(p) for p, _ in run])


def test_drift_table_recovers_the_injected_drift(result, run):
    assert [r.verdict for r in result.rows] == ["good"] * N
    assert [r.method for r in result.rows] == ["full"] + ["fast"] * (N - 1)
    for row, (_, truth) in zip(result.rows, run, strict=True):
        assert abs(row.dist_mm - truth.dist * 1e3) < 0.010  # 10 µm
        # tilts: a 100 mm detector pins them to ~0.2 mrad only (the single-image engine's too)
        assert abs(row.rot1 - truth.rot1) < 3e-4 and abs(row.rot2 - truth.rot2) < 3e-4
    d = np.array([r.dist_mm for r in result.rows])
    steps = np.diff(d)
    assert np.allclose(np.delete(steps, JUMP_AT - 1), DRIFT["dist"] * 1e3, atol=0.008)
    assert abs(steps[JUMP_AT - 1] - (DRIFT["dist"] + JUMP["dist"]) * 1e3) < 0.008
    y = np.array([r.center_y for r in result.rows])
    assert np.allclose(np.diff(y)[: JUMP_AT - 1], DRIFT["poni1"] / 250e-6, atol=0.03)


def test_jump_is_flagged_and_nothing_else(result):
    flagged = {r.index: r.flags for r in result.rows if r.flags}
    assert list(flagged) == [JUMP_AT]
    text = flagged[JUMP_AT][0]
    assert text.startswith("distance jump +") and abs(float(text.split("+")[1].split()[0]) - 0.520) < 0.008


def test_table_columns_and_times(result, run, tmp_path):
    text = drift_csv(result)
    lines = text.splitlines()
    assert lines[0].startswith("index,image,time_s,dist_mm,center_x,center_y,rot1,rot2,rot3")
    assert len(lines) == N + 1
    times = [r.time_s for r in result.rows]
    assert np.allclose(np.diff(times), 60.0)
    path = write_drift_table(result, tmp_path / "drift.json")
    assert path.with_name("drift.v0.json").is_file()


def test_unreadable_images_are_skipped_and_counted(run, tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not an image")
    other = tmp_path / "small.npy"
    np.save(other, np.zeros((50, 60)))
    paths = [str(run[0][0]), str(bad), str(run[1][0]), str(other)]
    out = run_series(_first(run[0][0]), paths)
    assert len(out.rows) == 2 and len(out.skipped) == 2
    assert out.skipped[0][0] == str(bad) and "60x50 px, the series is 400x400" in out.skipped[1][1]


def test_cancel_stops_between_images_with_the_rows_so_far(run):
    ctx = JobContext()
    out = run_series(_first(run[0][0]), [str(p) for p, _ in run], ctx=ctx,
                     on_row=lambda row: ctx.cancel.cancel() if row.index == 1 else None)
    assert out.cancelled and len(out.rows) == 2


def test_full_option_recalibrates_each_image(run):
    out = run_series(_first(run[0][0]), [str(p) for p, _ in run[:2]], SeriesOptions(fast=False))
    assert [r.method for r in out.rows] == ["full", "full"]


def test_watched_folder_picks_up_new_images_and_ends_when_it_disappears(run, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "before.tif").write_bytes(b"already there: not processed")
    watch = FolderWatch(folder, settle_s=0.2)
    two_done = threading.Event()

    def land():
        time.sleep(0.5)
        for k in range(2):
            shutil.copy(run[k][0], folder / f"img_{k}.part")  # written, then renamed in
            (folder / f"img_{k}.part").rename(folder / f"img_{k}.tif")
            time.sleep(0.3)
        two_done.wait(60)
        (folder / "garbage.tif").write_bytes(b"x" * 100)
        time.sleep(1.0)
        shutil.rmtree(folder)

    thread = threading.Thread(target=land)
    thread.start()
    out = run_series(_first(run[0][0]), watch, on_row=lambda row: two_done.set() if row.index == 1 else None)
    thread.join()
    assert [r.image.rsplit("/", 1)[1] for r in out.rows][:2] == ["img_0.tif", "img_1.tif"]
    assert len(out.skipped) >= 1 and "disappeared" in watch.stop_reason


def test_watch_stops_when_idle(tmp_path):
    watch = FolderWatch(tmp_path, idle_s=0.3)
    assert list(watch) == [] and "nothing new" in watch.stop_reason


def test_a_jump_beyond_the_fast_path_falls_back_to_the_full_pipeline(tmp_path):
    run = drift_series(BASE, 3, tmp_path, {"dist": 20e-6}, {2: {"dist": 8e-3, "poni2": 1e-3}})
    out = run_series(_first(run[0][0]), [str(p) for p, _ in run])
    assert [r.method for r in out.rows] == ["full", "fast", "full"]
    assert out.rows[2].verdict == "good" and out.rows[2].reason.startswith("fast path:")
    assert abs(out.rows[2].dist_mm - run[2][1].dist * 1e3) < 0.010
    assert out.rows[2].flags[0].startswith("distance jump +8.0") and "centre jump" in out.rows[2].flags[1]


def test_cancel_while_watching_ends_the_stream_as_cancelled(run, tmp_path):
    ctx = JobContext()
    timer = threading.Timer(0.5, ctx.cancel.cancel)
    timer.start()
    out = run_series(_first(run[0][0]), FolderWatch(tmp_path, ctx), ctx=ctx)
    timer.join()
    assert out.cancelled and out.rows == [] and out.stop_reason == "cancelled"
