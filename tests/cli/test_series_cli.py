"""`calterm series`: a glob's drift table written as CSV, bad input as one line with exit 2, and
Ctrl+C stopping cleanly with the table of the images done so far written (exit 130)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from calterm.cli import main
from calterm.core.common.geometry import PoniGeometry
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import drift_series

BASE = SyntheticCase(None, "LaB6", PoniGeometry(0.2, 0.05, 0.052, 0.01, -0.006, 0.0, 0.3e-10),
                     shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=41)
ARGS = ["--calibrant", "LaB6", "--wavelength", "0.3", "--pixel-size", "250"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    drift_series(BASE, 3, folder, {"dist": 50e-6})
    return folder


def test_glob_writes_the_drift_table(folder, tmp_path, capsys):
    table = tmp_path / "drift.csv"
    code = main(["series", str(folder / "run_*.tif"), *ARGS, "--table", str(table)])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = list(csv.DictReader(table.open()))
    assert [Path(r["image"]).name for r in rows] == ["run_000.tif", "run_001.tif", "run_002.tif"]
    assert [r["method"] for r in rows] == ["full", "fast", "fast"]
    steps = [float(b["dist_mm"]) - float(a["dist_mm"]) for a, b in zip(rows[:-1], rows[1:], strict=True)]
    assert all(abs(s - 0.050) < 0.010 for s in steps)
    assert "3 images, 0 skipped, 0 flagged" in out


@pytest.mark.parametrize("argv, message", [
    (["series", "/nonexistent/*.tif", *ARGS], "no such file"),
    (["series", "--watch", "/nonexistent", *ARGS], "--watch: /nonexistent: no such folder"),
    (["series", "--watch", "/tmp", "--calibrant", "LaB6"], "give --wavelength or --energy"),
    (["series", "x.tif", *ARGS, "--table", "/tmp/t.poni"], "t.poni"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_stops_cleanly_with_the_table_written(folder, tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for k in range(30):  # long enough to be interrupted
        shutil.copy(folder / f"run_{k % 3:03d}.tif", many / f"img_{k:02d}.tif")
    table = tmp_path / "drift.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "calterm", "series", str(many / "*.tif"), *ARGS,
                             "--table", str(table)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    proc.stdout.readline()  # the header
    proc.stdout.readline()  # the first image's row: the run is under way
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted (table written)" in err and "Traceback" not in err
    rows = list(csv.DictReader(table.open()))
    assert 1 <= len(rows) < 30
