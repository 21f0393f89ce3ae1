"""The gain map against a known truth: five positions of a Pilatus1M-like detector (2x2 binned).

The synthetic case (core/gain_synthetic.py) is rendered with pyFAI: amorphous scattering x
polarization x solid angle at each position's PONI geometry, beam-stop shadows, a gain with module
factors, a ramp, speckle and 40 damaged pixels, Poisson noise. The issue's bounds are for a
full 1-Mpixel detector; the false-flag bound (100 healthy pixels) is scaled to this detector's
pixel count (~236 000 usable pixels -> 23).
"""

import dataclasses

import numpy as np
import pytest

from calterm.core.gain.files import Position
from calterm.core.gain.gain_map import GainOptions, compute_gain_map
from calterm.core.simulate.amorphous import GainCase, render
from calterm.errors import InputError


def _positions(frames, geometries):
    out = []
    for k, (fr, geometry) in enumerate(zip(frames, geometries, strict=True), start=1):
        stack = np.stack(fr)
        ok = stack >= 0
        image = np.where(ok, stack, 0).sum(0) / np.maximum(ok.sum(0), 1)
        out.append(Position(f"position {k}", image, ~ok.any(0), geometry, [], ""))
    return out


@pytest.fixture(scope="module")
def case():
    frames, truth = render(GainCase(binning=2))
    return _positions(frames, truth.geometries), truth


@pytest.fixture(scope="module")
def result(case):
    positions, truth = case
    return compute_gain_map(positions, truth.detector)


def _rms(estimate, reference, where):
    ratio = estimate[where] / reference[where]
    return float(np.sqrt(np.mean((ratio / np.median(ratio) - 1) ** 2)))


def test_unfiltered_map_within_0p8_percent_of_the_truth(case, result):
    _, truth = case
    measured = ~truth.gaps
    assert np.isfinite(result.unfiltered[measured]).all()  # every pixel seen by some position
    assert np.isnan(result.unfiltered[truth.gaps]).all()
    assert _rms(result.unfiltered, truth.gain, measured) < 0.008


def test_filtered_map_within_1_percent_of_the_smooth_truth(case, result):
    _, truth = case
    healthy = ~truth.gaps & ~truth.damaged
    assert _rms(result.gain, truth.smooth, healthy) < 0.010
    # and filtering really removed speckle: the unfiltered map is further from the smooth part
    assert _rms(result.gain, truth.smooth, healthy) < 0.6 * _rms(result.unfiltered, truth.smooth, healthy)


def test_damaged_pixels_found_with_few_false_flags(case, result):
    _, truth = case
    found = result.damaged & truth.damaged
    false = result.damaged & ~truth.damaged
    usable = int((~truth.gaps).sum())
    assert found.sum() >= 0.95 * truth.damaged.sum()
    assert false.sum() < 100 * usable / 1_000_000
    # damaged pixels keep their unfiltered value in the final map
    assert np.array_equal(result.gain[result.damaged], result.unfiltered[result.damaged])


def test_uncertainty_describes_the_actual_error(case, result):
    _, truth = case
    ok = ~truth.gaps & np.isfinite(result.uncertainty)
    ratio = result.unfiltered[ok] / truth.gain[ok]
    error = ratio / np.median(ratio) - 1
    predicted = np.sqrt(np.mean(result.uncertainty[ok] ** 2))
    assert 0.6 < np.sqrt(np.mean(error**2)) / predicted < 1.6


def test_iteration_converges_and_beats_a_single_pass(case, result):
    positions, truth = case
    assert result.changes[-1] < result.changes[0] / 20
    single = compute_gain_map(positions, truth.detector, GainOptions(iterations=0))
    measured = ~truth.gaps
    assert _rms(result.unfiltered, truth.gain, measured) < _rms(single.unfiltered, truth.gain, measured)


def test_profile_range_and_forms(case, result):
    lo, hi = result.tth_range
    assert result.range_suggested and lo < hi <= result.profile.common_max_deg + 0.1
    images = result.images("multiply")
    ok = np.isfinite(result.gain)
    np.testing.assert_allclose(images["gain"][ok] * result.gain[ok], 1.0, rtol=1e-6)
    assert images["damaged_mask"].dtype == np.uint8 and images["gain"].dtype == np.float32
    with pytest.raises(InputError, match="--form"):
        result.images("add")


def test_range_mode_uses_the_line_above_the_range(case):
    positions, truth = case
    res = compute_gain_map(positions[:3], truth.detector,
                           GainOptions(tth_range=(15.0, 20.0), extrapolate="range", iterations=0))
    centres, used = res.expected.curve()
    above = centres > 20.0
    np.testing.assert_allclose(used[above], np.polyval(res.expected.coefficients, centres[above]))


def test_fewer_than_three_positions(case):
    positions, truth = case
    with pytest.raises(InputError, match="at least 3 positions"):
        compute_gain_map(positions[:2], truth.detector)


def test_overlapping_beam_stops(case):
    """A position whose direct beam falls in another's shadow (3 px away, the stop's radius is 7)."""
    positions, truth = case
    pixel = truth.detector.pixel1
    geometry = dataclasses.replace(positions[1].geometry, poni1=positions[1].geometry.poni1 + 3 * pixel)
    near = dataclasses.replace(positions[1], name="position 6", image=positions[1].image * 1.01, geometry=geometry)
    with pytest.raises(InputError, match="beam stops overlap"):
        compute_gain_map([positions[0], positions[1], near, positions[2]], truth.detector)


def test_mismatched_shapes(case):
    positions, truth = case
    cropped = dataclasses.replace(positions[2], image=positions[2].image[:-1], invalid=positions[2].invalid[:-1])
    with pytest.raises(InputError, match="shape"):
        compute_gain_map([positions[0], positions[1], cropped], truth.detector)
