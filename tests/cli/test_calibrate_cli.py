"""`calterm calibrate` as scripts use it: the JSON contract, PONI files pyFAI reads, versioned
outputs, and one clear line with the right exit code for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from calterm.cli import main


def args_for(case, *extra):
    bx, by = case.beam_xy
    return ["calibrate", str(case.path), "--calibrant", case.case.calibrant,
            "--wavelength", repr(case.truth.wavelength * 1e10), "--detector", case.detector_name,
            "--distance", repr(case.truth.dist * 1e3 * 1.05), "--center", f"{bx + 12:.1f},{by - 9:.1f}", *extra]


def run_cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_and_poni_read_by_pyfai(rendered, tmp_path, capsys, poni_file_is):
    from calterm.core.common.geometry import PoniGeometry

    case = rendered("pilatus")
    poni = tmp_path / "calib.poni"
    code, out, err = run_cli(capsys, args_for(case, "--poni", str(poni), "--history", str(tmp_path / "h.csv"),
                                              "--pattern", str(tmp_path / "p.xy"), "--json"))
    assert code == 0, err
    doc = json.loads(out)
    for key in ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength"):
        assert isinstance(doc["geometry"][key], float)
    assert doc["geometry"]["dist"] == pytest.approx(case.truth.dist, abs=2e-5)  # metres
    assert doc["rms_2th_deg"] < 0.01 and doc["n_points"] > 1000
    assert {"ring", "count", "mean_deg", "std_deg"} <= set(doc["rings"][0])
    assert doc["verdict"]["status"] == "good"
    assert doc["geometry"]["wavelength"] == pytest.approx(case.truth.wavelength)
    poni_file_is(poni, PoniGeometry(**doc["geometry"]), case.detector)  # all seven and every pixel's 2θ
    header = (tmp_path / "h.csv").read_text().splitlines()[0]
    assert header.startswith("iteration,stage,dist,poni1,poni2,rot1,rot2,rot3,wavelength,cost")
    pattern = np.loadtxt(tmp_path / "p.xy")
    assert pattern.shape[1] == 2 and pattern[:, 1].max() > 0


def test_cake_residuals_and_an_unlabelled_point(rendered, tmp_path, capsys):
    import tifffile

    case = rendered("pilatus")
    argv = ["calibrate", str(case.path), "--calibrant", "LaB6", "--wavelength", "0.4", "--detector", "Pilatus1M",
            "--point", "300,300", "--cake", str(tmp_path / "cake.tif"), "--residuals", str(tmp_path / "r.csv"),
            "--json"]
    code, out, err = run_cli(capsys, argv)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["geometry"]["dist"] == pytest.approx(case.truth.dist, abs=2e-5)
    cake = tifffile.imread(tmp_path / "cake.tif")
    assert cake.shape == tuple(doc["outputs"]["cake"]["shape"]) and cake.dtype == np.float32
    residuals = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1)
    assert residuals.shape == (doc["n_points"], 4)
    assert np.sqrt(np.mean(residuals[:, 3] ** 2)) == pytest.approx(doc["rms_2th_deg"], rel=1e-6)


def test_second_calibration_keeps_the_first(rendered, tmp_path, capsys):
    case = rendered("eiger_corner")
    poni = tmp_path / "calib.poni"
    assert run_cli(capsys, args_for(case, "--poni", str(poni)))[0] == 0
    first = (tmp_path / "calib.v0.poni").read_text()
    assert run_cli(capsys, args_for(case, "--poni", str(poni), "--rings", "10"))[0] == 0
    assert (tmp_path / "calib.v0.poni").read_text() == first
    assert os.readlink(poni) == "calib.v1.poni"
    assert len((tmp_path / "calib.poni.log").read_text().splitlines()) == 2


def test_report_without_json(rendered, capsys):
    code, out, _ = run_cli(capsys, args_for(rendered("pilatus")))
    assert code == 0
    assert "verdict: good" in out and "Fit2D: distance" in out and "RMS" in out


def _bad(capsys, argv):
    code, out, err = run_cli(capsys, argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


def test_bad_input_gives_one_line_and_exit_2(rendered, tmp_path, capsys):
    case = rendered("pilatus")
    base = args_for(case)
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00garbage")
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((64, 64), np.nan))
    cases = {
        "missing": ["calibrate", str(tmp_path / "nope.tif"), *base[2:]],
        "corrupt": ["calibrate", str(corrupt), *base[2:]],
        "nan": ["calibrate", str(nan), *base[2:]],
        "detector": [*base, "--detector", "NoSuchDetector"],
        "calibrant": [a if a != "LaB6" else "Unobtainium" for a in base],
        "distance": [*base, "--distance", "-5"],
        "wavelength": [a if a != base[5] else "0" for a in base],
        "ring": [*base, "--point", "100,100@0"],
        "all fixed": [*base, "--fix", "dist,poni1,poni2,rot1,rot2"],
        "param": [*base, "--fix", "tilt"],
        "outdir": [*base, "--poni", str(tmp_path / "no" / "dir" / "c.poni")],
    }
    for name, argv in cases.items():
        code, line = _bad(capsys, argv)
        assert code == 2, (name, line)
        assert line.startswith("calterm: error:"), (name, line)
    assert not list(tmp_path.glob("*.poni*"))


def test_calibrant_that_matches_no_rings_fails_and_writes_nothing(rendered, tmp_path, capsys):
    case = rendered("pilatus")  # LaB6 image
    argv = [a if a != "LaB6" else "AgBh" for a in args_for(case, "--poni", str(tmp_path / "c.poni"))]
    code, _ = _bad(capsys, argv)
    assert code == 1
    assert not list(tmp_path.iterdir())


def test_console_script_runs(rendered, tmp_path):
    case = rendered("eiger_corner")
    proc = subprocess.run([sys.executable, "-m", "calterm", *args_for(case, "--json")], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"]["status"] == "good"
