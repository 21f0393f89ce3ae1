"""Gain input checks (issue 14, item 4): positions that add no independent information are refused,
and pixels only one position measured are reported as unchecked.

Before: one position given three times exited 0 with "median uncertainty 0.00 %" (every shadow
pixel was then dark at every position, so it was given back as "a dead pixel" and no overlap was
seen). Pilatus1M layout 4x4 binned, five positions.
"""

import dataclasses

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.gain.files import Position
from calterm.core.gain.gain_map import compute_gain_map
from calterm.core.simulate.amorphous import GainCase, render, write_case
from calterm.errors import InputError


@pytest.fixture(scope="module")
def case():
    frames, truth = render(GainCase(binning=4, seed=5))
    positions = []
    for k, (fr, geometry) in enumerate(zip(frames, truth.geometries, strict=True), start=1):
        stack = np.stack(fr)
        ok = stack >= 0
        image = np.where(ok, stack, 0).sum(0) / np.maximum(ok.sum(0), 1)
        positions.append(Position(f"position {k}", image, ~ok.any(0), geometry, [], ""))
    return positions, truth


def test_one_position_three_times_is_refused(case):
    positions, truth = case
    same = [dataclasses.replace(positions[0], name=f"position {k}") for k in (1, 2, 3)]
    with pytest.raises(InputError, match="no independent information"):
        compute_gain_map(same, truth.detector)


def test_same_beam_centre_with_other_frames_is_refused(case):
    """Re-measured at the same place (new frames, same geometry): same centre, refused."""
    positions, truth = case
    again = dataclasses.replace(positions[1], name="position 6", image=positions[1].image * 1.02)
    with pytest.raises(InputError, match="same beam centre"):
        compute_gain_map([positions[0], positions[1], again, positions[2]], truth.detector)


def test_centre_in_another_shadow_is_refused_even_when_the_frames_agree(case):
    """Shifted by 2 px (the stop's radius is 3.5 px here): its beam is in the other's shadow."""
    positions, truth = case
    geometry = dataclasses.replace(positions[1].geometry, poni2=positions[1].geometry.poni2 + 2 * truth.detector.pixel2)
    near = dataclasses.replace(positions[1], name="position 6", image=positions[1].image + 0.5, geometry=geometry)
    with pytest.raises(InputError, match="beam stops overlap"):
        compute_gain_map([positions[0], positions[1], near, positions[2]], truth.detector)


def test_pixels_seen_by_one_position_have_infinite_uncertainty_and_are_counted(case):
    positions, truth = case
    only_first = np.zeros(truth.gain.shape, bool)
    only_first[100:120, 150:180] = True
    only_first &= ~truth.gaps
    blinded = [positions[0]] + [dataclasses.replace(p, invalid=p.invalid | only_first) for p in positions[1:]]
    result = compute_gain_map(blinded, truth.detector)
    assert np.isinf(result.uncertainty[only_first]).all()
    assert np.isfinite(result.unfiltered[only_first]).all()  # a value, but an unchecked one
    report = result.report()
    assert report["single_position_pixels"] >= int(only_first.sum())
    assert report["single_position_pixels"] == int((result.coverage == 1).sum())
    assert np.isfinite(report["median_uncertainty"]) and report["median_uncertainty"] > 0.002


def test_cli_same_position_three_times_exits_2(tmp_path, capsys):
    pairs, _ = write_case(GainCase(binning=8, seed=4), tmp_path / "case")
    argv = ["gain"] + [a for _ in range(3) for a in ("--position", pairs[0][0], "--calibration", pairs[0][1])]
    code = main([*argv, "-o", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert code == 2 and "no independent information" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("g_*"))
