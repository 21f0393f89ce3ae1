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


def test_a_decimal_comma_is_named_not_called_not_a_number(rendered, capsys):
    """argparse's float() said "invalid float value: '0,3344'"; the shared parser says what to type."""
    base = args_for(rendered("pilatus"))
    for option, typed in (("--wavelength", "0,3344"), ("--distance", "1,8")):
        argv = [a if a != base[5] else typed for a in base] if option == "--wavelength" else [*base, option, typed]
        code, line = _bad(capsys, argv)
        assert code == 2
        assert line == f"calterm: error: {option}: a decimal point is expected: {typed.replace(',', '.')}, not {typed}"


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


def _never_calibrate(monkeypatch):
    """Make the calibration itself fail the test: a refused output must be refused before it."""
    import calterm.core.calibrate.pipeline as pipeline

    def calibrate(*args, **kwargs):
        raise AssertionError("the calibration ran although an output could not be written")

    monkeypatch.setattr(pipeline, "calibrate", calibrate)


def _unwritable(monkeypatch, directory):
    """``directory`` reads as unwritable (tests run as root, for whom permission bits do not count)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if os.path.abspath(path) == str(directory) and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


OUTPUT_DEFECTS = {  # option, path (t = the test's folder): each refused before the fit
    "history into /proc (os.access says yes, creating a file fails)": ("--history", "/proc/h.csv"),
    "history into a missing folder": ("--history", "{t}/no/such/h.csv"),
    "history onto a folder": ("--history", "{t}/folder.csv"),
    "history into an unwritable folder": ("--history", "{t}/ro/h.csv"),
    "history that is not .csv": ("--history", "{t}/h.png"),
    "pattern into a missing folder": ("--pattern", "{t}/no/p.xy"),
    "pattern with an unknown suffix": ("--pattern", "{t}/p.png"),
    "cake with an unknown suffix": ("--cake", "{t}/x.xyz"),
    "cake into /proc": ("--cake", "/proc/cake.tif"),
    "residuals into a missing folder": ("--residuals", "{t}/no/r.csv"),
    "residuals that is not .csv": ("--residuals", "{t}/r.xy"),
    "two outputs naming one file": ("--residuals", "{t}/calib.poni"),
}


@pytest.mark.parametrize("what", list(OUTPUT_DEFECTS))
def test_an_output_that_cannot_be_written_is_refused_before_the_fit(what, rendered, tmp_path, capsys, monkeypatch):
    case = rendered("eiger_corner")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "ro").mkdir()
    _unwritable(monkeypatch, tmp_path / "ro")
    _never_calibrate(monkeypatch)
    option, path = OUTPUT_DEFECTS[what]
    before = sorted(tmp_path.rglob("*"))
    code, line = _bad(capsys, args_for(case, "--poni", str(tmp_path / "calib.poni"), option,
                                       path.format(t=tmp_path)))
    assert code == 2, line
    assert line.startswith("calterm: error:") and "internal error" not in line, line
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, the PONI included


def test_second_run_keeps_every_output_as_a_version(rendered, tmp_path, capsys):
    case = rendered("eiger_corner")
    names = {"--history": "h.csv", "--pattern": "p.xy", "--cake": "cake.npy", "--residuals": "r.csv"}
    outputs = [a for option, name in names.items() for a in (option, str(tmp_path / name))]
    assert run_cli(capsys, args_for(case, *outputs))[0] == 0
    first = {name: (tmp_path / name).read_bytes() for name in names.values()}
    assert run_cli(capsys, args_for(case, *outputs, "--rings", "6"))[0] == 0
    for name in names.values():
        stem, suffix = name.rsplit(".", 1)
        assert (tmp_path / f"{stem}.v0.{suffix}").read_bytes() == first[name], name  # the first run kept
        assert os.readlink(tmp_path / name) == f"{stem}.v1.{suffix}", name  # the second is current
        log = [json.loads(line) for line in (tmp_path / f"{name}.log").read_text().splitlines()]
        assert [entry["version"] for entry in log] == [f"{stem}.v0.{suffix}", f"{stem}.v1.{suffix}"], name
    assert (tmp_path / "h.v1.csv").read_bytes() != first["h.csv"]  # a different fit: a different history


def test_the_written_poni_keeps_a_binned_pilatus_gaps(rendered, tmp_path, capsys):
    """Pilatus1M binned 2x2 (521x490: pyFAI cannot rebin 1043x981 by name): the PONI `calibrate`
    writes names a detector definition beside it, so pyFAI loading the PONI alone masks the gaps
    (a generic 'Detector: Detector' integrated them as pixels)."""
    import pyFAI

    case = rendered("pilatus")
    poni = tmp_path / "calib.poni"
    code, _, err = run_cli(capsys, args_for(case, "--poni", str(poni)))
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["calib.detector.h5", "calib.detector.v0.h5"]
    ai = pyFAI.load(str(poni))
    gaps = np.asarray(case.detector.mask) != 0
    assert 0.05 < gaps.mean() < 0.2
    np.testing.assert_array_equal(np.asarray(ai.detector.mask) != 0, gaps)
