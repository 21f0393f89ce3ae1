"""Images in the formats beamlines write, orientation and masks (detectors and calibrants: tests/core/common)."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.io.images import load_image, load_mask, orient, write_image
from calterm.errors import InputError

RAMP = np.arange(12 * 10, dtype=np.float32).reshape(12, 10)


@pytest.mark.parametrize("suffix", [".tif", ".edf", ".npy"])
def test_formats_round_trip(tmp_path, suffix):
    path = tmp_path / f"img{suffix}"
    write_image(path, RAMP)
    image = load_image(path)
    np.testing.assert_array_equal(image.data, RAMP)
    assert image.data.dtype == np.float64


def test_hdf5_frames_and_dataset_path(tmp_path):
    import h5py

    stack = np.stack([RAMP, RAMP + 1000])
    with h5py.File(tmp_path / "run.h5", "w") as h5:
        h5["entry/data/data"] = stack
        h5["other/img"] = RAMP * 2
    assert load_image(tmp_path / "run.h5", frame=1).data[0, 0] == 1000
    assert load_image(f"{tmp_path / 'run.h5'}::/other/img").data[0, 1] == 2
    with pytest.raises(InputError, match="out of range"):
        load_image(tmp_path / "run.h5", frame=2)


def test_multiframe_tiff(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "s.tif", np.stack([RAMP, RAMP + 5]))
    assert load_image(tmp_path / "s.tif", frame=1).data[0, 0] == 5


def test_invalid_pixels_are_marked_not_used(tmp_path):
    data = RAMP.copy()
    data[0, 0] = -1
    data[1, 1] = np.nan
    write_image(tmp_path / "g.tif", data)
    image = load_image(tmp_path / "g.tif")
    assert image.invalid[0, 0] and image.invalid[1, 1] and image.invalid.sum() == 2
    assert image.data[1, 1] == 0.0


def test_orientation():
    a = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(orient(a, 90), [[2, 4], [1, 3]])  # counter-clockwise as displayed
    np.testing.assert_array_equal(orient(a, 0, "h"), [[2, 1], [4, 3]])
    np.testing.assert_array_equal(orient(a, 0, "v"), [[3, 4], [1, 2]])
    np.testing.assert_array_equal(orient(a, 90, "h"), [[4, 2], [3, 1]])  # rotate first, then flip
    with pytest.raises(InputError):
        orient(a, 45)


def test_mask_files(tmp_path):
    mask = np.zeros((12, 10), np.uint8)
    mask[2, 3] = 1
    write_image(tmp_path / "m.edf", mask)
    assert load_mask(tmp_path / "m.edf", (12, 10)).sum() == 1
    assert load_mask(tmp_path / "m.edf", (10, 12), rotate=90)[10 - 1 - 3, 2]
    with pytest.raises(InputError, match="does not match"):
        load_mask(tmp_path / "m.edf", (5, 5))
    np.save(tmp_path / "p.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError):  # never unpickles
        load_mask(tmp_path / "p.npy", (1,))
