"""`calterm align` with a calibration: the ring fit end to end (JSON, text, the CrystFEL file and its
versions), and its one-line errors. Images are rendered by pyFAI at a known geometry."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.common.geometry import PoniGeometry, poni_text
from calterm.core.simulate.powder import SyntheticCase, make_detector, render


def call(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


# a Pilatus1M (binned 2x2, module gaps) tilted by 1.5°, its quadrants where they belong
TILTED = SyntheticCase("Pilatus1M", "LaB6", PoniGeometry(0.20, 0.0912, 0.0835, math.radians(1.2), math.radians(-0.9),
                                                         0.0, 0.4e-10), binning=2, resolution_deg=0.12, seed=3)


# a small generic detector, CeO2, tilted by 1.5°: for what does not need a real detector
SMALL = SyntheticCase(None, "CeO2", PoniGeometry(0.05, 131.2e-4, 125.3e-4, math.radians(1.2), math.radians(0.9), 0.0,
                                                 0.5e-10), shape=(256, 256), pixel_size_um=100, resolution_deg=0.12,
                      seed=4)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small")
    image, det = render(SMALL)
    np.save(tmp / "powder.npy", image)
    (tmp / "calib.poni").write_text(poni_text(SMALL.geometry, det))
    return tmp


@pytest.fixture(scope="module")
def tilted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tilted")
    image, det = render(TILTED)
    np.save(tmp / "powder.npy", image)
    (tmp / "calib.poni").write_text(poni_text(TILTED.geometry, det))
    return tmp


def test_a_tilted_detector_with_its_calibration_shows_no_panel_shift(capsys, tilted):
    """The defect: rotational correlation (what `calterm align` did) reads the tilt as quadrant shifts
    of pixels, with no warning. With --poni/--calibrant every quadrant is in place (<= 0.05 px) and
    none is reported beyond 3σ."""
    rc, out, err = call(capsys, "align", tilted / "powder.npy", "--poni", tilted / "calib.poni",
                        "--calibrant", "LaB6", "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["method"] == "ring fit"
    assert report["significant"] == []
    for p in report["panels"]:
        assert np.abs(p["shift"]).max() <= 0.05, p
        assert p["verdict"] == "no significant shift" and p["sigma"][0] > 0
    assert max(np.abs(p["shift"]).max() for p in report["correlation"]) > 0.3  # what correlation said


def test_correlation_alone_says_it_assumes_untilted_rings(capsys, small):
    center = SMALL.geometry.beam_center_px(make_detector(SMALL))
    rc, out, err = call(capsys, "align", small / "powder.npy", "--center", f"{center[0]:.2f},{center[1]:.2f}",
                        "--search", "6")
    assert rc == 0, err
    assert "warning: rotational correlation assumes untilted rings" in out


def test_text_output_and_the_crystfel_file_in_versions(capsys, small, tmp_path):
    from pyFAI.geometry.crystfel import build_geometry, parse_crystfel_geom

    from calterm.core.io.writer import list_versions, set_current

    geom = tmp_path / "detector.geom"
    for _ in range(2):
        rc, out, err = call(capsys, "align", small / "powder.npy", "--poni", small / "calib.poni",
                            "--calibrant", "CeO2", "--geom", geom, "--offsets", tmp_path / "offsets.json")
        assert rc == 0, err
    assert "no significant shift" in out and "ring fit" in out
    assert [v.path.name for v in list_versions(geom)] == ["detector.v0.geom", "detector.v1.geom"]
    assert geom.resolve().name == "detector.v1.geom"
    set_current(geom, 0)
    assert geom.resolve().name == "detector.v0.geom"
    ai = build_geometry(parse_crystfel_geom(str(geom)))  # pyFAI reads what calterm wrote
    assert tuple(ai.detector.shape) == SMALL.shape
    assert ai.dist == pytest.approx(SMALL.geometry.dist, rel=1e-3)
    doc = json.loads((tmp_path / "offsets.json").read_text())
    assert doc["method"] == "ring fit" and "sigma" in doc["panels"][0] and "geometry" in doc


@pytest.mark.parametrize("args, message", [
    (["--calibrant", "LaB6", "--center", "5,5"], "--calibrant: the ring fit needs the calibration too"),
    ([], "--center: give the beam centre"),
    (["--poni", "{t}/missing.poni"], "no such PONI file"),
    (["--poni", "{p}", "--calibrant", "NotACalibrant"], "unknown calibrant"),
    (["--poni", "{p}", "--calibrant", "LaB6", "--wavelength", "0,4"], "--wavelength"),
    (["--poni", "{p}", "--calibrant", "LaB6", "--geom", "{t}/out.txt"], "ends in .geom"),
    (["--center", "5,5", "--geom", "{t}/out.geom"], "--geom: a CrystFEL geometry needs the calibration"),
    (["--poni", "{p}", "--calibrant", "LaB6", "--geom", "{t}/nodir/out.geom"], "does not exist"),
    (["--poni", "{p}", "--calibrant", "LaB6", "--panels", "grid:0x3"], "does not fit"),
    (["--center", "5,5", "--panels", "modules"], "needs a detector"),
])
def test_bad_inputs_give_one_line_and_exit_2(capsys, small, tmp_path, args, message):
    rc, out, err = call(capsys, "align", small / "powder.npy",
                        *[a.format(t=tmp_path, p=small / "calib.poni") for a in args])
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err, err


def test_a_version_1_poni_without_a_shape_fits_the_image(capsys, small, tmp_path):
    """A PONI of pyFAI's first format gives pixel sizes, no shape: the image's shape is the
    detector's (it tracebacked at tuple(detector.shape)). The ring fit ends where the version-2
    PONI's does."""
    g = SMALL.geometry
    v1 = tmp_path / "v1.poni"
    v1.write_text(f"PixelSize1: 1e-4\nPixelSize2: 1e-4\nDistance: {g.dist!r}\nPoni1: {g.poni1!r}\n"
                  f"Poni2: {g.poni2!r}\nRot1: {g.rot1!r}\nRot2: {g.rot2!r}\nRot3: 0.0\nWavelength: {g.wavelength!r}\n")
    rc, out, err = call(capsys, "align", small / "powder.npy", "--poni", v1, "--calibrant", "CeO2", "--json")
    assert rc == 0, err
    rc2, out2, err2 = call(capsys, "align", small / "powder.npy", "--poni", small / "calib.poni",
                           "--calibrant", "CeO2", "--json")
    assert rc2 == 0, err2
    shifts = [p["shift"] for p in json.loads(out)["panels"]]
    np.testing.assert_allclose(shifts, [p["shift"] for p in json.loads(out2)["panels"]], atol=1e-6)
    assert np.abs(shifts).max() <= 0.05
