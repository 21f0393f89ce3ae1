"""calterm.core.common.sampling gives what scipy.ndimage gives (the circle fit swapped one for the
other to start faster), edges, NaN and out-of-range coordinates included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from calterm.core.common import sampling

RNG = np.random.default_rng(7)


def test_bilinear_sampling_matches_scipy_everywhere_edges_and_nan_included():
    image = RNG.normal(size=(23, 31))
    image[5, 7] = np.nan
    image[22, 30] = np.nan  # a corner: reached by mirroring the neighbour past the edge
    rows = np.concatenate([RNG.uniform(-2, 25, 4000), [0, 22, 22, 21.5, -1e-9, 22 + 1e-9, 5, 4.5, 5]])
    cols = np.concatenate([RNG.uniform(-2, 33, 4000), [0, 30, 0, 30, 3, 3, 7, 7, 6]])
    got = sampling.map_coordinates_linear(image, rows, cols)
    want = ndimage.map_coordinates(image, [rows, cols], order=1, mode="constant", cval=np.nan)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert np.isnan(want).sum() > 500 and np.isfinite(want).sum() > 2000  # both kinds tested


@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.5, 6.0])
@pytest.mark.parametrize("mode", ["nearest", "reflect"])
def test_gaussian_smoothing_matches_scipy(sigma, mode):
    values = RNG.normal(size=(9, 41))
    np.testing.assert_allclose(sampling.gaussian_filter1d(values, sigma, axis=1, mode=mode),
                               ndimage.gaussian_filter1d(values, sigma, axis=1, mode=mode), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(sampling.gaussian_filter1d(values, sigma, axis=0, mode=mode),
                               ndimage.gaussian_filter1d(values, sigma, axis=0, mode=mode), rtol=1e-12, atol=1e-13)
    image = RNG.normal(size=(40, 57))
    np.testing.assert_allclose(sampling.gaussian_filter(image, sigma, mode=mode),
                               ndimage.gaussian_filter(image, sigma, mode=mode), rtol=1e-12, atol=1e-13)


def test_binary_erosion_matches_scipy():
    mask = RNG.uniform(size=(50, 60)) > 0.08
    for iterations in (1, 4):
        np.testing.assert_array_equal(sampling.binary_erosion(mask, iterations),
                                      ndimage.binary_erosion(mask, iterations=iterations, border_value=0))
