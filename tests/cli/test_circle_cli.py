"""`calterm circle`: JSON contract, history CSV, calibration values, exit codes and one-line errors."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.io.images import write_image
from calterm.core.simulate.single_ring import SingleRingCase, clicks_on_ring, render_single_ring

CASE = SingleRingCase(shape=(360, 380), center=(187.6, 171.3), modulation=0.5, diffuse=300.0, beamstop_px=15.0,
                      wavelength_A=1.0, distance_mm=1000.0, pixel_size_um=100.0, seed=9)
MISPLACED = {3: 15.0, 8: -22.0}


@pytest.fixture(scope="module")
def ring_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("circle") / "ring.tif"
    write_image(path, render_single_ring(CASE).astype(np.float32))
    return path


@pytest.fixture(scope="module")
def clicks():
    pts = clicks_on_ring(CASE, 11, start_deg=5, jitter_px=3.0, seed=4)
    for i, dr in MISPLACED.items():
        d = pts[i] - CASE.center
        pts[i] = CASE.center + d * (1 + dr / np.hypot(*d))
    return [f"{x:.2f},{y:.2f}" for x, y in pts]


def _point_args(points):
    return [a for p in points for a in ("--point", p)]


def _run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _truth():
    return np.array([*CASE.center, CASE.radii_px()[0]])


def test_json_contract_and_history(capsys, ring_file, clicks, tmp_path):
    history = tmp_path / "history.csv"
    doc = _run_json(capsys, ["circle", str(ring_file), *_point_args(clicks), "--json", "--history", str(history)])
    assert np.abs(np.array([*doc["center"], doc["radius"]]) - _truth()).max() < 0.1
    assert doc["rejected"] == sorted(MISPLACED)
    assert len(doc["residuals"]) == 11 and doc["rms"] < 0.3
    assert len(doc["center_se"]) == 2 and doc["radius_se"] > 0
    with history.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["stage", "cx", "cy", "r", "cost", "inliers"]
    assert len(rows) - 1 == doc["iterations"]
    assert rows[-1][0] == "final"
    assert [float(v) for v in rows[-1][1:4]] == [*doc["center"], doc["radius"]]


def test_calibration_from_d_spacing_or_calibrant(capsys, ring_file, clicks):
    common = ["circle", str(ring_file), *_point_args(clicks), "--wavelength", "1.0", "--pixel-size", "100", "--json"]
    by_d = _run_json(capsys, [*common, "--d-spacing", "5.838"])
    by_name = _run_json(capsys, [*common, "--calibrant", "AgBh", "--order", "1"])
    cal = by_d["calibration"]
    assert cal["distance_mm"] == pytest.approx(CASE.distance_mm, rel=5e-4)
    assert cal["scale_inv_nm_per_px"] == pytest.approx(1 / (5.838 * by_d["radius"]))
    assert by_name["calibration"]["d_spacing_nm"] == pytest.approx(5.838, abs=1e-4)
    assert by_name["calibration"]["distance_mm"] == pytest.approx(cal["distance_mm"], rel=1e-4)
    assert by_d["detector"]["how"] == "generic"


def test_calibration_by_parameters(capsys, ring_file, clicks):
    doc = _run_json(capsys, ["circle", str(ring_file), *_point_args(clicks), "--wavelength", "1.0",
                             "--pixel-size", "100", "--distance", "1000", "--json"])
    assert doc["calibration"]["d_spacing_nm"] == pytest.approx(5.838, rel=5e-4)
    assert doc["calibration"]["source"] == "parameters"


def test_fixed_center_and_automatic(capsys, ring_file, clicks):
    fixed = _run_json(capsys, ["circle", str(ring_file), *_point_args(clicks), "--fixed-center",
                               f"{CASE.center[0]},{CASE.center[1]}", "--json"])
    assert fixed["center"] == list(CASE.center) and fixed["fixed_center"]
    assert abs(fixed["radius"] - CASE.radii_px()[0]) < 0.05
    auto = _run_json(capsys, ["circle", str(ring_file), "--json"])
    assert np.abs(np.array([*auto["center"], auto["radius"]]) - _truth()).max() < 0.1
    assert auto["rejected"] == [] and auto["residuals"] == [] and auto["ring_samples"] > 50


def test_text_output(capsys, ring_file, clicks):
    assert main(["circle", str(ring_file), *_point_args(clicks), "--points-only"]) == 0
    out = capsys.readouterr().out
    assert "centre" in out and "2 rejected: 3, 8" in out and "method   points;" in out


def _error(capsys, argv, code):
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse rejects a malformed value itself (exit 2, one line)
        got = exc.code
    assert got == code
    err = capsys.readouterr().err.strip()
    assert err.startswith("calterm: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_inputs_exit_2_with_one_line(capsys, ring_file, clicks, tmp_path):
    assert "no such file" in _error(capsys, ["circle", str(tmp_path / "missing.tif")], 2)
    for name, content in (("corrupt.tif", b"II*\x00 definitely not a tiff"), ("corrupt.edf", b"{ garbage")):
        corrupt = tmp_path / name
        corrupt.write_bytes(content)
        assert str(corrupt) in _error(capsys, ["circle", str(corrupt), *_point_args(clicks)], 2)
    assert "at least 5" in _error(capsys, ["circle", str(ring_file), *_point_args(clicks[:4])], 2)
    line = [f"{10 + 5 * i},{20 + 5 * i}" for i in range(6)]
    assert "collinear" in _error(capsys, ["circle", str(ring_file), *_point_args(line)], 2)
    outside = [*clicks[:5], "1000,10"]
    assert "outside" in _error(capsys, ["circle", str(ring_file), *_point_args(outside)], 2)
    assert "finite" in _error(capsys, ["circle", str(ring_file), *_point_args([*clicks[:5], "nan,3"])], 2)
    # a calibration needs a pixel size: no registered detector has this shape
    assert "pixel-size" in _error(capsys, ["circle", str(ring_file), *_point_args(clicks), "--d-spacing", "5.838",
                                           "--wavelength", "1.0"], 2)


def test_a_fit_failing_validation_exits_1(capsys, ring_file):
    ang = np.radians(np.linspace(200, 218, 6))  # 18° of the ring: too short an arc to trust
    r = CASE.radii_px()[0]
    pts = [f"{CASE.center[0] + r * np.cos(a):.2f},{CASE.center[1] + r * np.sin(a):.2f}" for a in ang]
    err = _error(capsys, ["circle", str(ring_file), *_point_args(pts), "--points-only"], 1)
    assert "fit failed" in err


def test_console_script_in_a_subprocess(ring_file, clicks):
    exe = shutil.which("calterm")
    cmd = [exe] if exe else [sys.executable, "-m", "calterm"]
    out = subprocess.run([*cmd, "circle", str(ring_file), *_point_args(clicks), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["rejected"] == sorted(MISPLACED)
    bad = subprocess.run([*cmd, "circle", str(ring_file), "--point", "1,2"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("history", ["/proc/h.csv", "{t}/no/such/h.csv", "{t}/folder.csv", "{t}/h.png"])
def test_a_history_that_cannot_be_written_is_refused_before_the_fit(history, capsys, ring_file, clicks, tmp_path,
                                                                    monkeypatch):
    import calterm.core.circle.fit as fit

    def never(*args, **kwargs):
        raise AssertionError("the fit ran although its history could not be written")

    monkeypatch.setattr(fit, "fit_circle", never)
    (tmp_path / "folder.csv").mkdir()
    before = sorted(tmp_path.rglob("*"))
    err = _error(capsys, ["circle", str(ring_file), *_point_args(clicks), "--history", history.format(t=tmp_path)], 2)
    assert "--history" in err and "internal error" not in err
    assert sorted(tmp_path.rglob("*")) == before


def test_second_history_keeps_the_first_as_a_version(capsys, ring_file, clicks, tmp_path):
    import os

    history = tmp_path / "h.csv"
    _run_json(capsys, ["circle", str(ring_file), *_point_args(clicks), "--json", "--history", str(history)])
    first = history.read_bytes()
    _run_json(capsys, ["circle", str(ring_file), *_point_args(clicks), "--seed", "3", "--json", "--history",
                       str(history)])
    assert (tmp_path / "h.v0.csv").read_bytes() == first
    assert os.readlink(history) == "h.v1.csv"
    assert len((tmp_path / "h.csv.log").read_text().splitlines()) == 2


# --- header facts: the image's own header fills in what was not typed ----------------------------

def _bragg_distance_mm(radius_px, d_A, wavelength_A, pixel_um):
    return radius_px * pixel_um * 1e-3 / np.tan(2 * np.arcsin(wavelength_A / (2 * d_A)))


def test_real_mar1200_calibrates_from_its_header(capsys, realdata_path):
    """No detector, pixel size or wavelength typed: the mar345 header's 150 µm and 1.54179 Å turn
    the AgBh ring into a distance (exact Bragg geometry), both reported as from header, and the
    header's own 400 mm, which the ring contradicts, is said in a note, not used."""
    path = realdata_path("agbe_60sec_006.mar1200")
    assert main(["circle", str(path), "--calibrant", "AgBh", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cal = doc["calibration"]
    assert doc["from_header"]["wavelength_A"]["value"] == pytest.approx(1.54179)
    assert doc["from_header"]["pixel_size_um"]["value"] == pytest.approx([150.0, 150.0])
    assert doc["detector"]["how"] == "generic" and doc["detector"]["reason"] == "pixel size from header"
    assert cal["wavelength_A"] == pytest.approx(1.54179) and cal["pixel_size_um"] == pytest.approx(150.0)
    assert cal["distance_mm"] == pytest.approx(_bragg_distance_mm(doc["radius"], 58.380, 1.54179, 150.0), rel=1e-4)
    assert doc["ring_arc_deg"] > 300 and doc["ring_rms"] < 0.5  # a whole, sharp ring
    assert any("400 mm" in n and "disagrees" in n for n in doc["notes"])
    # typed values win over the header
    assert main(["circle", str(path), "--calibrant", "AgBh", "--wavelength", "1.0", "--pixel-size", "100",
                 "--json"]) == 0
    typed = json.loads(capsys.readouterr().out)
    assert typed["from_header"] == {} and typed["calibration"]["wavelength_A"] == 1.0
    assert typed["calibration"]["pixel_size_um"] == pytest.approx(100.0)


def test_real_mar1200_by_parameters_from_header(capsys, realdata_path):
    """Nothing typed at all: wavelength, distance and pixel size from the header give the ring's
    d-spacing (calibration by parameters), d = λ / (2 sin(atan(r p / D) / 2))."""
    path = realdata_path("agbe_60sec_006.mar1200")
    assert main(["circle", str(path)]) == 0
    text = capsys.readouterr().out
    assert "from header (DISTANCE)" in text and "from header (WAVELENGTH)" in text
    assert main(["circle", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cal = doc["calibration"]
    tth = np.arctan(doc["radius"] * 0.150 / 400.0)
    assert cal["source"] == "parameters" and cal["distance_mm"] == 400.0
    assert cal["d_spacing_nm"] == pytest.approx(1.54179 / (2 * np.sin(tth / 2)) / 10, rel=1e-9)


def test_eiger_master_header_picks_the_detector_and_scale(capsys, tmp_path):
    """An Eiger2_250k-shaped HDF5 master file (DECTRIS layout): the detector its description names
    is taken over HF_262k (same shape, 150 µm), both named as candidates; λ from the header."""
    import h5py

    wavelength, distance, d_lab6 = 1.0, 50.0, 4.156826
    radius = distance * np.tan(2 * np.arcsin(wavelength / (2 * d_lab6))) / 0.075
    yy, xx = np.mgrid[0:512, 0:512]
    image = 5.0 + 800.0 * np.exp(-0.5 * ((np.hypot(xx - 250.3, yy - 262.8) - radius) / 1.2) ** 2)
    path = tmp_path / "lab6_master.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("entry/data/data", data=image[None].astype(np.float32))
        det = h5.create_group("entry/instrument/detector")
        for name, value, unit in (("x_pixel_size", 75e-6, "m"), ("y_pixel_size", 75e-6, "m"),
                                  ("beam_center_x", 250.0, "pixel"), ("beam_center_y", 263.0, "pixel"),
                                  ("detector_distance", 0.08, "m")):
            det.create_dataset(name, data=value).attrs["units"] = unit
        det.create_dataset("description", data=b"Dectris EIGER2 Si 250K")
        h5.create_dataset("entry/instrument/beam/incident_wavelength", data=wavelength).attrs["units"] = "angstrom"
    assert main(["circle", str(path), "--calibrant", "LaB6", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["detector"]["name"] == "Eiger2_250k" and set(doc["detector"]["candidates"]) == {"Eiger2_250k", "HF_262k"}
    assert "header names it" in doc["detector"]["reason"]
    assert doc["radius"] == pytest.approx(radius, abs=0.2)
    assert doc["calibration"]["distance_mm"] == pytest.approx(distance, rel=2e-3)
    assert any("80 mm" in n for n in doc["notes"])  # the header's 80 mm is not the ring's 50
