"""`calterm gain` end to end on a small synthetic experiment (Pilatus1M layout, 4x4 binned)."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from calterm.cli import main
from calterm.core.simulate.amorphous import GainCase, write_case

DATE = "2026-05-04"


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp("gain")
    pairs, truth = write_case(GainCase(binning=4, seed=3), root)
    return root, pairs, truth


def _args(pairs):
    out = []
    for frames, calibration in pairs:
        out += ["--position", frames, "--calibration", calibration]
    return out


def _run(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_outputs_versioned_files(experiment, tmp_path, capsys):
    _, pairs, truth = experiment
    name = str(tmp_path / "pilatus")
    code, out, err = _run(capsys, ["gain", *_args(pairs), "-o", name, "--date", DATE, "--json"])
    assert code == 0, err
    doc = json.loads(out)
    outputs = doc["outputs"]
    assert set(outputs) >= {"gain", "unfiltered", "damaged_mask", "uncertainty", "report"}
    assert outputs["gain"] == f"{name}_{DATE}.tif"
    for path in outputs.values():
        assert Path(path).is_file()
    assert os.path.islink(outputs["gain"]) and doc["versions"]["gain"].endswith(f"_{DATE}.v0.tif")
    gain = tifffile.imread(outputs["gain"])
    assert gain.dtype == np.float32 and gain.shape == truth.gain.shape
    ok = ~truth.gaps
    assert np.isfinite(gain[ok]).all()  # damaged pixels darker than the beam-stop threshold included
    ratio = gain[ok] / truth.smooth[ok]
    assert np.sqrt(np.mean((ratio / np.median(ratio) - 1) ** 2)) < 0.02  # few counts per pixel here
    mask = tifffile.imread(outputs["damaged_mask"])
    assert mask.dtype == np.uint8 and mask.sum() == doc["damaged_pixels"]
    report = json.loads(Path(outputs["report"]).read_text())
    assert len(report["profile"]["tth_deg"]) == len(report["profile"]["expected"])
    assert len(report["positions"]) == 5 and report["form"] == "divide"
    code, out, _ = _run(capsys, ["gain", *_args(pairs), "-o", name, "--date", DATE, "--json", "--form", "multiply"])
    assert code == 0
    again = json.loads(out)
    assert again["versions"]["gain"].endswith(".v1.tif")  # the first map is kept as v0
    product = tifffile.imread(again["outputs"]["gain"]) * tifffile.imread(doc["versions"]["gain"])
    np.testing.assert_allclose(product[np.isfinite(product)], 1.0, rtol=1e-5)


def test_folder_layout_matches_explicit_positions(experiment, tmp_path, capsys):
    root, pairs, _ = experiment
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert _run(capsys, ["gain", *_args(pairs), "-o", a, "--date", DATE])[0] == 0
    code, out, err = _run(capsys, ["gain", "--folder", str(root), "-o", b, "--date", DATE])
    assert code == 0, err
    assert "damaged pixels" in out
    np.testing.assert_array_equal(tifffile.imread(f"{a}_{DATE}.tif"), tifffile.imread(f"{b}_{DATE}.tif"))


def _imctrl_from_poni(poni_path: str, pixel_mm: float) -> str:
    """GSAS-II controls for the geometry of a PONI file (inverse of the Fit2D route)."""
    from calterm.core.common.geometry import load_poni

    geometry, det = load_poni(poni_path)
    f2d = geometry.to_pyfai(det).getFit2D()
    tilt = f2d["tilt"]
    return (f"wavelength:np.float64({geometry.wavelength * 1e10!r})\n"
            f"distance:np.float64({f2d['directDist'] * math.cos(math.radians(tilt))!r})\n"
            f"center:[np.float64({f2d['centerX'] * pixel_mm!r}), np.float64({f2d['centerY'] * pixel_mm!r})]\n"
            f"tilt:np.float64({tilt!r})\nrotation:{f2d['tiltPlanRotation'] - 90.0!r}\nDetDepth:0.0\n")


def test_gsas_calibrations_with_user_pixel_size(experiment, tmp_path, capsys):
    _, pairs, _ = experiment
    ctrl = []
    for k, (frames, poni) in enumerate(pairs):
        path = tmp_path / f"pos{k}.imctrl"
        path.write_text(_imctrl_from_poni(poni, 0.688))
        ctrl.append((frames, str(path)))
    code, _, err = _run(capsys, ["gain", *_args(ctrl), "-o", str(tmp_path / "g"), "--date", DATE])
    assert code == 2 and "--pixel-size" in err  # a 260x245 image matches no registered detector
    code, _, err = _run(capsys, ["gain", *_args(ctrl), "--pixel-size", "688", "-o", str(tmp_path / "g"), "--date", DATE])
    assert code == 0, err
    assert _run(capsys, ["gain", *_args(pairs), "-o", str(tmp_path / "p"), "--date", DATE])[0] == 0
    from_gsas = tifffile.imread(tmp_path / f"g_{DATE}.tif")
    from_poni = tifffile.imread(tmp_path / f"p_{DATE}.tif")
    np.testing.assert_allclose(from_gsas, from_poni, rtol=1e-4)


def test_bad_input_exit_codes(experiment, tmp_path, capsys):
    root, pairs, _ = experiment
    out = ["-o", str(tmp_path / "x")]
    code, _, err = _run(capsys, ["gain", *_args(pairs[:2]), *out])
    assert code == 2 and "at least 3 positions" in err and "Traceback" not in err
    code, _, err = _run(capsys, ["gain", "--position", pairs[0][0], "--position", pairs[1][0],
                                 "--calibration", pairs[0][1], *out])
    assert code == 2 and "one per position" in err
    twin = [pairs[0], pairs[1], pairs[1], pairs[2]]
    code, _, err = _run(capsys, ["gain", *_args(twin), *out])
    assert code == 2 and "no independent information" in err and len(err.strip().splitlines()) == 1
    small = tmp_path / "small"
    small.mkdir()
    tifffile.imwrite(small / "f.tif", np.ones((100, 100), np.int32))
    code, _, err = _run(capsys, ["gain", *_args(pairs[:2]), "--position", str(small / "*.tif"),
                                 "--calibration", pairs[2][1], *out])
    assert code == 2 and "shape" in err
    code, _, err = _run(capsys, ["gain", *_args(pairs), "--range", "3", *out])
    assert code == 2 and "--range" in err
    code, _, err = _run(capsys, ["gain", "--position", str(tmp_path / "none*.tif"), "--calibration", pairs[0][1],
                                 "--position", pairs[1][0], "--calibration", pairs[1][1],
                                 "--position", pairs[2][0], "--calibration", pairs[2][1], *out])
    assert code == 2 and "no frames match" in err
    assert not list(tmp_path.glob("x_*.tif"))  # nothing written on failure


def test_mask_file_excludes_pixels(experiment, tmp_path, capsys):
    _, pairs, truth = experiment
    mask = np.zeros(truth.gain.shape, np.uint8)
    mask[100:110, 50:60] = 1
    tifffile.imwrite(tmp_path / "mask.tif", mask)
    code, out, err = _run(capsys, ["gain", *_args(pairs), "--mask", str(tmp_path / "mask.tif"),
                                   "-o", str(tmp_path / "m"), "--date", DATE, "--json"])
    assert code == 0, err
    doc = json.loads(out)
    gain = tifffile.imread(doc["outputs"]["unfiltered"])
    assert np.isnan(gain[100:110, 50:60]).all() and np.isfinite(gain[~truth.gaps & (mask == 0)]).all()
    assert doc["pixels_without_estimate"] == int((truth.gaps | (mask != 0)).sum())


def _unwritable(monkeypatch, directory):
    """``directory`` reads as unwritable (tests run as root, for whom permission bits do not count)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.realpath(path) == os.path.realpath(directory):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.mark.parametrize("place", ["nodir/g", "afile/g", "ro/g"])
def test_outputs_are_checked_before_a_frame_is_read(experiment, tmp_path, capsys, monkeypatch, place):
    _, pairs, _ = experiment
    (tmp_path / "afile").write_text("")
    (tmp_path / "ro").mkdir()
    _unwritable(monkeypatch, tmp_path / "ro")
    missing = [(str(tmp_path / "none*.tif"), calibration) for _, calibration in pairs]  # reading them would fail
    before = sorted(tmp_path.rglob("*"))
    code, out, err = _run(capsys, ["gain", *_args(missing), "-o", str(tmp_path / place), "--date", DATE])
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(tmp_path / place) in err, err
    assert "no frames match" not in err and sorted(tmp_path.rglob("*")) == before


def test_range_is_parsed_once_for_both_faces(experiment, tmp_path, capsys):
    _, pairs, _ = experiment
    missing = [(str(tmp_path / "none*.tif"), calibration) for _, calibration in pairs]
    for text in ("30,3.5", "3,3", "a,b"):  # the CLI took MIN above MAX and read every frame first
        code, _, err = _run(capsys, ["gain", *_args(missing), "--range", text, "-o", str(tmp_path / "g")])
        assert code == 2 and err.count("\n") == 1 and "--range" in err and "no frames match" not in err, err
    from calterm.inputs.gain import parse_tth_range  # the gain screen's Range 2θ° field uses it too

    assert parse_tth_range("3.5, 30") == (3.5, 30.0) and parse_tth_range("") is None
