"""Radial medians, their combination and extrapolation; masked medians and damaged pixels."""

import numpy as np
import pytest

from calterm.core.gain.damaged import find_damaged, masked_median, masked_median_filter
from calterm.core.gain.profile import (
    ExpectedProfile,
    bin_edges,
    bin_index,
    bin_medians,
    combine_profiles,
    fit_bins,
    fit_extrapolation,
    interpolation_weights,
    suggest_range,
)
from calterm.errors import InputError


def test_medians_sit_at_bin_centres_and_empty_bins_are_skipped():
    rng = np.random.default_rng(0)
    tth = rng.uniform(0, 10, 200_000)
    tth = tth[(tth < 4) | (tth > 5)]  # a gap: bins 4-5° are empty
    values = 100 + 30 * tth  # a steep linear profile: a half-bin shift would show
    edges = bin_edges(10, 50)
    med, counts = bin_medians(bin_index(tth, edges), values, np.ones(tth.size, bool), 50)
    centres = 0.5 * (edges[:-1] + edges[1:])
    empty = (centres > 4) & (centres < 5)
    assert np.all(counts[empty] == 0) and np.all(np.isnan(med[empty]))
    full = ~empty & (counts > 0)
    assert np.max(np.abs(med[full] - (100 + 30 * centres[full]))) < 0.5  # edges would be 3 off
    expected = ExpectedProfile(centres, med, np.array([30.0, 100.0]), np.zeros(50, bool))
    assert expected(np.array([4.5]))[0] == pytest.approx(235, abs=0.5)  # interpolated across the gap


def test_medians_match_numpy_and_ignore_outliers():
    rng = np.random.default_rng(1)
    tth = rng.uniform(0, 5, 50_000)
    values = rng.gamma(4, 50, tth.size)
    values[:20] = 1e9  # hot pixels: clipped in the key, but medians unchanged
    valid = rng.random(tth.size) > 0.2
    edges = bin_edges(5, 20)
    med, _ = bin_medians(bin_index(tth, edges), values, valid, 20)
    idx = bin_index(tth, edges)
    ref = [np.median(values[valid & (idx == i)]) for i in range(20)]
    np.testing.assert_allclose(med, ref, rtol=1e-9)


def _profiles(nbins=100, tth_max=30.0):
    edges = bin_edges(tth_max, nbins)
    c = 0.5 * (edges[:-1] + edges[1:])
    shape = 2 + np.exp(-((c - 8) ** 2) / 4) - 0.02 * np.clip(c - 12, 0, None)  # flat-ish above 12°
    reach = np.array([20.0, 28.0, 30.0])
    scales = np.array([1.0, 1.3, 0.8])
    counts = np.where(c[None, :] < reach[:, None], 500, 0)
    medians = np.where(counts > 0, shape * scales[:, None], np.nan)
    return c, shape, medians, counts


def test_combination_recovers_scales_and_common_reach():
    c, shape, medians, counts = _profiles()
    prof = combine_profiles(c, medians, counts)
    np.testing.assert_allclose(prof.scales, [1.0, 1.3, 0.8])
    np.testing.assert_allclose(prof.values[c < 28], shape[c < 28])
    assert 19.5 < prof.common_max_deg < 20.0


def test_least_squares_line_and_suggested_range():
    c, shape, medians, counts = _profiles()
    rng = np.random.default_rng(2)
    medians = medians * (1 + rng.normal(0, 0.002, medians.shape))
    prof = combine_profiles(c, medians, counts)
    lo, hi = suggest_range(prof)
    assert 12 <= lo < hi <= prof.common_max_deg + 0.2
    coef = fit_extrapolation(prof, (lo, hi))
    assert coef[0] == pytest.approx(-0.02, abs=0.004)
    assert np.polyval(coef, 29.0) == pytest.approx(2 - 0.02 * 17, abs=0.02)
    with pytest.raises(InputError, match="filled 2θ bins"):
        fit_extrapolation(prof, (40, 45))


def test_fit_bins_modes():
    c, _, medians, counts = _profiles()
    prof = combine_profiles(c, medians, counts)
    assert np.array_equal(fit_bins(prof, (14, 18), "range"), c > 18)
    assert not fit_bins(prof, (14, 18), "sparse").any()  # every bin is well measured by some position
    counts[:, -5:] = np.minimum(counts[:, -5:], 10)  # the far corner: a few pixels only
    counts[:, :3] = 0  # the beam stop: below the range, never replaced by the line
    prof = combine_profiles(c, np.where(counts > 0, medians, np.nan), counts)
    sparse = fit_bins(prof, (14, 18), "sparse")
    assert np.array_equal(np.nonzero(sparse)[0], np.arange(95, 100))
    with pytest.raises(InputError):
        fit_bins(prof, (14, 18), "bogus")


def test_masked_median_matches_nanmedian():
    rng = np.random.default_rng(3)
    stack = rng.normal(size=(5, 400))
    stack[rng.random(stack.shape) < 0.3] = np.nan
    med, count = masked_median(stack, axis=0)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        ref = np.nanmedian(stack, axis=0)
    np.testing.assert_allclose(med, ref, equal_nan=True)
    assert np.array_equal(count, np.isfinite(stack).sum(0))


def test_masked_median_filter_skips_masked_pixels():
    rng = np.random.default_rng(4)
    img = rng.normal(size=(20, 17))
    use = rng.random(img.shape) > 0.25
    out = masked_median_filter(img, use, 3, chunk_rows=7)
    padded = np.pad(np.where(use, img, np.nan), 1, constant_values=np.nan)
    for r, c in [(0, 0), (5, 9), (19, 16), (10, 3)]:
        window = padded[r : r + 3, c : c + 3]
        if np.isfinite(window).any():
            assert out[r, c] == pytest.approx(np.nanmedian(window))
    with pytest.raises(InputError, match="odd"):
        masked_median_filter(img, use, 4)


def test_damaged_rule_is_local_and_two_sided():
    rng = np.random.default_rng(5)
    gain = np.ones((120, 120))
    gain[:, 60:] = 1.25  # a high module: not damaged
    gain *= 1 + rng.normal(0, 0.01, gain.shape)
    use = np.ones(gain.shape, bool)
    use[:, 58:62] = False  # the gap between modules
    low_in_high, high_in_low, low = (30, 90), (80, 20), (100, 40)
    gain[low_in_high] = 1.12  # below its neighbours, though near the detector mean
    gain[high_in_low] = 1.15
    gain[low] = 0.85
    damaged, score = find_damaged(gain, use, 4.0)
    assert damaged[low_in_high] and damaged[high_in_low] and damaged[low]
    assert score[low_in_high] < -4 and score[high_in_low] > 4
    assert damaged.sum() <= 3 + 2  # a Gaussian field of 14 000 pixels gives ~1 at 4σ


@pytest.mark.parametrize("fitted_top", [False, True])
def test_precomputed_interpolation_equals_the_profile(fitted_top):
    c = np.linspace(0.05, 9.95, 100)
    values = np.sin(c) + 2
    values[:5] = np.nan  # beam stop
    values[40:43] = np.nan  # empty bins
    values[95:] = np.nan
    fitted = np.zeros(100, bool)
    fitted[97:] = fitted_top
    expected = ExpectedProfile(c, values, np.array([0.1, 0.2]), fitted)
    tth = np.random.default_rng(6).uniform(-1, 11, 20_000)
    np.testing.assert_allclose(expected.at(interpolation_weights(tth, c)), expected(tth), equal_nan=True)
