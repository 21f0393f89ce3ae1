"""`calterm identify IMAGE --wavelength A`: the calibrants that explain the image, ranked, each with
its distance and score (text and JSON); bad input is one line and exit 2."""

from __future__ import annotations

import json

import pytest

from calterm.cli import main


def run_cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", ["pilatus", "pilatus_corundum"])
def test_the_true_calibrant_ranks_first_at_its_distance(rendered, capsys, name):
    case = rendered(name)
    code, out, err = run_cli(capsys, ["identify", str(case.path), "--wavelength", repr(case.truth.wavelength * 1e10),
                                      "--detector", case.detector_name, "--json", "--top", "3"])
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["calibrants"]) == 3
    first = doc["calibrants"][0]
    assert first["calibrant"] == case.case.calibrant
    # untilted ring radii about the symmetric centre: the distance to about 1 %
    assert first["distance_mm"] == pytest.approx(case.truth.dist * 1e3, rel=0.01)
    assert first["score"] > doc["calibrants"][1]["score"] - 0.05
    assert first["score"] >= 0.7  # corundum: its (006) and (202) rings are 1-2 %: absent


def test_text_report_names_each_calibrant_with_distance_and_score(rendered, capsys):
    case = rendered("pilatus")
    code, out, _ = run_cli(capsys, ["identify", str(case.path), "--energy", repr(12.398419843320026 / 0.4),
                                    "--detector", case.detector_name])
    assert code == 0
    lines = out.strip().splitlines()
    assert "beam centre" in lines[0] and "calibrant" in lines[1] and "distance mm" in lines[1]
    assert lines[2].split()[1] == "LaB6"
    assert len(lines) == 2 + 5  # the default --top 5


@pytest.mark.parametrize("extra, message", [
    (["--wavelength", "0,4"], "decimal point"),
    (["--wavelength", "0.4", "--top", "0"], "--top"),
    (["--wavelength", "0.4", "--mask", "/nonexistent/mask.edf"], "--mask"),
    (["--wavelength", "0.4", "--center", "12"], "X,Y"),
    (["--wavelength", "0.4", "--pixel-size", "-3"], "--pixel-size"),
])
def test_bad_input_is_one_line_and_exit_2(rendered, capsys, extra, message):
    case = rendered("pilatus")
    code, out, err = run_cli(capsys, ["identify", str(case.path), "--detector", case.detector_name, *extra])
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err


def test_a_missing_image_is_exit_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, ["identify", str(tmp_path / "none.tif"), "--wavelength", "0.4"])
    assert code == 2 and "no such file" in err
