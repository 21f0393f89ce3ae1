"""`calterm detectors` and `calterm calibrants`: name, shape and pixel size from pyFAI's own
classes, --json, and "none" with exit 1 for a shape no registry detector has."""

from __future__ import annotations

import json

import pyFAI.detectors
import pytest

from calterm.cli import main


def test_shape_that_matches_nothing_says_none(capsys):
    assert main(["detectors", "3,3"]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "" and "none" in err and "3,3" in err and err.count("\n") == 1


def test_bad_shape_is_usage_error(capsys):
    assert main(["detectors", "3"]) == 2
    assert "ROWS,COLS" in capsys.readouterr().err


def test_list_shows_shape_and_pixel_size(capsys):
    assert main(["detectors", "512,512"]) == 0
    lines = capsys.readouterr().out.splitlines()
    by_name = {line.split()[0]: line for line in lines}
    assert set(by_name) == {"HF_262k", "Eiger2_250k"}
    assert "512x512" in by_name["Eiger2_250k"] and " 75 µm" in by_name["Eiger2_250k"]
    assert " 150 µm" in by_name["HF_262k"]


def test_detectors_json_agrees_with_pyfai(capsys):
    assert main(["detectors", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["detectors"]}
    assert len(rows) > 50
    for name in ("Pilatus1M", "Eiger4M", "Perkin", "Eiger2_250k"):
        det = pyFAI.detectors.detector_factory(name)
        assert tuple(rows[name]["shape"]) == tuple(det.max_shape)
        assert rows[name]["pixel_size_um"] == pytest.approx([det.pixel1 * 1e6, det.pixel2 * 1e6])
    assert main(["detectors", "1043,981", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["shape"] == [1043, 981] and "Pilatus1M" in [r["name"] for r in doc["detectors"]]


def test_calibrants_json(capsys):
    assert main(["calibrants", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)["calibrants"]]
    assert {"LaB6", "CeO2", "AgBh", "Si"} <= set(names)
    assert main(["calibrants", "LaB6", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    import pyFAI.calibrant

    truth = pyFAI.calibrant.get_calibrant("LaB6").dspacing
    assert doc["name"] == "LaB6" and doc["d_spacings_A"][:3] == pytest.approx(truth[:3], rel=1e-9)
