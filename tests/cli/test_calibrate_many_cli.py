"""`calterm calibrate-many`: the wavelength from linked distances as JSON, one PONI per image, and
bad input (a travel list of the wrong length, images of different shapes, a missing file) as one
line with exit 2."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from calterm.cli import main
from calterm.core.common.geometry import PoniGeometry
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import distance_series

WAVELENGTH_A = 0.2
BASE = SyntheticCase(None, "LaB6", PoniGeometry(0.2, 0.05, 0.052, 0.01, -0.006, 0.0, WAVELENGTH_A * 1e-10),
                     shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=31)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return [str(p) for p, _ in distance_series(BASE, [0.0, 0.15, 0.3], tmp_path_factory.mktemp("many"))]


def test_linked_json_and_ponis(images, tmp_path, capsys):
    code = main(["calibrate-many", *images, "--calibrant", "LaB6", "--wavelength", "0.2005", "--pixel-size", "250",
                 "--distance", "200", "--travel", "0,150,300", "--poni-dir", str(tmp_path / "ponis"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out["verdict"]
    assert out["wavelength_refined"] is True
    assert abs(out["wavelength_m"] / (WAVELENGTH_A * 1e-10) - 1) < 5e-5
    assert abs(out["values"]["L0"] - 0.2) < 20e-6
    assert out["model"]["dist"] == "linked" and len(out["images"]) == 3
    assert sorted(p.name for p in (tmp_path / "ponis").glob("*.v0.poni")) == ["dist_00.v0.poni", "dist_01.v0.poni",
                                                                               "dist_02.v0.poni"]


def test_text_report_says_the_wavelength_is_not_refined(images, capsys):
    code = main(["calibrate-many", *images[:2], "--calibrant", "LaB6", "--wavelength", "0.2", "--pixel-size", "250",
                 "--distance", "200,350"])
    out = capsys.readouterr().out
    assert code == 0
    assert "wavelength not identifiable" in out and "dist[1]" in out


@pytest.mark.parametrize("extra, message", [
    (["--travel", "0,150"], "--travel: 2 values for 3 images"),
    (["--model", "poni1=linked", "--travel", "0,1,2"], "only the distance can be linked"),
    (["--distance", "200,300"], "--distance: 2 values for 3 images"),
])
def test_bad_model_input_is_one_line_exit_2(images, extra, message, capsys):
    code = main(["calibrate-many", *images, "--calibrant", "LaB6", "--wavelength", "0.2", "--pixel-size", "250", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_images_of_different_shapes_exit_2(images, tmp_path, capsys):
    small = distance_series(replace(BASE, shape=(300, 400)), [0.0], tmp_path, prefix="small")[0][0]
    code = main(["calibrate-many", images[0], str(small), "--calibrant", "LaB6", "--wavelength", "0.2",
                 "--pixel-size", "250"])
    err = capsys.readouterr().err
    assert code == 2 and "one joint fit needs one detector" in err and len(err.strip().splitlines()) == 1


def test_missing_image_exit_2(images, capsys):
    code = main(["calibrate-many", images[0], "/nonexistent/b.tif", "--calibrant", "LaB6", "--wavelength", "0.2"])
    err = capsys.readouterr().err
    assert code == 2 and "no such file" in err
