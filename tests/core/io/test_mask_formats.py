"""Masks the neighbours read and write: 1 = masked in every format, files laid out as the other
tools write them, and our files read the way the other tools read them.

Dioptas (``MaskModel``) saves ``np.int8(mask)``: ``.npy`` and ``.edf`` by their suffix, anything
else (``.mask`` included) through PIL as a TIFF, and loads the same way (PIL, falling back to
``np.loadtxt``: "could not convert string '{'" on an EDF); pyFAI-calib2 saves masks through fabio
(EDF) with 1 = masked; NPY masks are ``np.save``'d arrays, 1 = masked.
"""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.io.images import load_mask, write_image

SHAPE = (48, 61)


def _mask(seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = rng.random(SHAPE) < 0.1
    mask[:5] = True  # a block, as a drawn rectangle
    return mask


def _dioptas_save(mask: np.ndarray, path) -> None:
    """As Dioptas's MaskModel.save_mask behaves: an int8 array; ``.npy`` by numpy, ``.edf`` by
    fabio, any other suffix (``.mask``, ``.tif``) a TIFF through PIL (deflate when libtiff has it)."""
    data = np.int8(mask)
    name = str(path)
    if name.endswith(".npy"):
        np.save(name, data)
    elif name.endswith(".edf"):
        import fabio.edfimage

        fabio.edfimage.EdfImage(data).write(name)
    else:
        from PIL import Image

        try:
            Image.fromarray(data).save(name, "tiff", compression="tiff_deflate")
        except OSError:
            Image.fromarray(data).save(name, "tiff")


def _dioptas_load(path) -> np.ndarray:
    """As Dioptas's MaskModel.read_mask_file behaves: ``.npy`` and ``.edf`` by suffix, anything else
    opened by PIL, falling back to ``np.loadtxt`` (which stops at an EDF header's '{')."""
    name = str(path)
    if name.endswith(".npy"):
        return np.load(name)
    if name.endswith(".edf"):
        import fabio

        return fabio.open(name).data
    from PIL import Image

    try:
        return np.array(Image.open(name))
    except OSError:
        return np.loadtxt(name)


def _pyfai_calib2_save(mask: np.ndarray, path) -> None:
    """pyFAI-calib2 writes the drawn mask with fabio, 1 = masked."""
    import fabio.edfimage

    fabio.edfimage.EdfImage(data=mask.astype(np.int8)).write(str(path))


@pytest.mark.parametrize("suffix", [".mask", ".tif", ".tiff", ".edf", ".npy"])
def test_dioptas_masks_read_and_ours_read_by_dioptas(tmp_path, suffix):
    mask = _mask()
    theirs = tmp_path / f"dioptas{suffix}"
    _dioptas_save(mask, theirs)
    np.testing.assert_array_equal(load_mask(theirs, SHAPE), mask)
    ours = tmp_path / f"calterm{suffix}"
    write_image(ours, mask.astype(np.uint8))
    got = _dioptas_load(ours)  # an EDF .mask: "could not convert string '{' to float" here
    np.testing.assert_array_equal(got != 0, mask)
    assert set(np.unique(got)) <= {0, 1}
    np.testing.assert_array_equal(load_mask(ours, SHAPE), mask)


def test_pyfai_calib2_edf_masks_both_ways(tmp_path):
    import fabio

    mask = _mask(5)
    theirs = tmp_path / "calib2_mask.edf"
    _pyfai_calib2_save(mask, theirs)
    np.testing.assert_array_equal(load_mask(theirs, SHAPE), mask)
    ours = tmp_path / "calterm_mask.edf"
    write_image(ours, mask.astype(np.uint8))
    with fabio.open(str(ours)) as img:  # how pyFAI-calib2 and pyFAI's integrators read a mask file
        np.testing.assert_array_equal(img.data != 0, mask)
        assert set(np.unique(img.data)) <= {0, 1}


def test_npy_masks_both_ways(tmp_path):
    mask = _mask(6)
    theirs = tmp_path / "theirs.npy"
    np.save(theirs, mask.astype(np.int8))
    np.testing.assert_array_equal(load_mask(theirs, SHAPE), mask)
    bools = tmp_path / "bools.npy"
    np.save(bools, mask)
    np.testing.assert_array_equal(load_mask(bools, SHAPE), mask)
    ours = tmp_path / "ours.npy"
    write_image(ours, mask.astype(np.uint8))
    np.testing.assert_array_equal(np.load(ours) != 0, mask)


def test_old_edf_mask_files_named_mask_still_read(tmp_path):
    """calterm before this change wrote .mask as EDF; such files stay readable by calterm."""
    mask = _mask(7)
    old = tmp_path / "old.mask"
    _pyfai_calib2_save(mask, old)
    np.testing.assert_array_equal(load_mask(old, SHAPE), mask)


def test_mask_command_output_is_a_dioptas_mask(tmp_path):
    """The mask written by ``calterm mask -o X.mask`` (write_mask_output) opens in Dioptas."""
    from calterm.core.health.mask import MaskRules, build_mask, write_mask_output

    rng = np.random.default_rng(9)
    average = rng.uniform(-10, 2200, SHAPE)
    result = build_mask(SHAPE, MaskRules(), average=average)  # the rules of the images given only
    assert 0 < result.mask.sum() < result.mask.size
    written = write_mask_output(result, tmp_path / "det.mask", good=False, command="test", inputs={})
    np.testing.assert_array_equal(_dioptas_load(written) != 0, result.mask)
    np.testing.assert_array_equal(_dioptas_load(tmp_path / "det.mask") != 0, result.mask)
