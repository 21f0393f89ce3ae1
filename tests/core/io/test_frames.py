"""Frames of multi-frame files: a multi-page TIFF is its pages (or the planes of a stacked page) as
frames, and a NeXus file's default dataset is the one its @default/@signal chain names."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from calterm.core.io.frames import iter_frames, plan_units
from calterm.core.io.images import load_image, read_array
from calterm.errors import InputError

STACK = ((np.arange(4 * 20 * 30).reshape(4, 20, 30) % 977) * np.array([1, 3, 5, 7])[:, None, None]).astype(np.int32)


def _tiff(tmp_path, layout: str) -> str:
    path = tmp_path / f"{layout}.tif"
    if layout == "tifffile":  # tifffile's default for a 3D array: one page holding the stack
        tifffile.imwrite(path, STACK)
    elif layout == "imagej":  # ImageJ hyperstack: one page per frame
        tifffile.imwrite(path, STACK.astype(np.float32), imagej=True)
    elif layout == "pages":  # detector software appending pages one by one
        with tifffile.TiffWriter(path) as tif:
            for frame in STACK:
                tif.write(frame, contiguous=False)
    else:  # PIL's multi-page save
        from PIL import Image

        images = [Image.fromarray(frame) for frame in STACK]
        images[0].save(path, save_all=True, append_images=images[1:])
    return str(path)


@pytest.mark.parametrize("layout", ["tifffile", "imagej", "pages", "pil"])
def test_four_page_tiff_is_four_frames(tmp_path, layout):
    path = _tiff(tmp_path, layout)
    for k in range(4):  # frame 2 used to be "out of range (0..0)" for the tifffile layout
        np.testing.assert_array_equal(read_array(path, k)[0], STACK[k])
        np.testing.assert_array_equal(load_image(path, frame=k).data, STACK[k].astype(float))
    with pytest.raises(InputError, match=r"out of range \(0\.\.3\)"):
        read_array(path, 4)
    reads = [r for unit in plan_units([path]) for r in iter_frames(unit)]
    assert [r.frame for r in reads] == [0, 1, 2, 3]
    np.testing.assert_array_equal(np.array([r.data for r in reads]), STACK)


def test_gain_positions_average_every_frame_of_a_multi_page_tiff(tmp_path):
    from calterm.core.gain.files import average_frames

    stack = STACK.astype(float)
    stack[1, 3, 4] = -1  # invalid in one frame: the mean is over the other three
    path = tmp_path / "exposures.tif"
    tifffile.imwrite(path, stack.astype(np.float32))
    mean, invalid = average_frames([str(path)])
    expected = STACK.mean(axis=0)
    expected[3, 4] = np.mean(STACK[[0, 2, 3], 3, 4])
    np.testing.assert_allclose(mean, expected, rtol=1e-6)
    assert not invalid.any()


def _nexus(tmp_path, name: str = "scan.nxs") -> str:
    """A NeXus file whose plottable data is not where a search would look first: a decoy at the
    Eiger path /entry/data/data, the default chain root -> /scan -> /scan/plot, signal 'frames'."""
    import h5py

    path = tmp_path / name
    with h5py.File(path, "w") as h5:
        h5.attrs["NX_class"] = "NXroot"
        h5.attrs["default"] = "scan"
        decoy = h5.create_group("entry")
        decoy.attrs["NX_class"] = "NXentry"
        decoy.create_dataset("data/data", data=np.zeros((2, 20, 30), np.int32))
        scan = h5.create_group("scan")
        scan.attrs["NX_class"] = "NXentry"
        scan.attrs["default"] = "plot"
        plot = scan.create_group("plot")
        plot.attrs["NX_class"] = "NXdata"
        plot.attrs["signal"] = "frames"
        plot.create_dataset("monitor", data=np.ones((3, 20, 30)))
        plot.create_dataset("frames", data=STACK[:3])
    return str(path)


def test_nexus_default_dataset_follows_default_and_signal(tmp_path):
    path = _nexus(tmp_path)
    np.testing.assert_array_equal(read_array(path, 2)[0], STACK[2])
    units = plan_units([path])
    assert [u.path for u in units] == [f"{path}::/scan/plot/frames"] and units[0].n_frames == 3
    np.testing.assert_array_equal(np.array([r.data for r in iter_frames(units[0])]), STACK[:3])
    np.testing.assert_array_equal(read_array(f"{path}::/entry/data/data")[0], 0)  # named explicitly: kept


def test_files_without_a_default_chain_keep_the_fallbacks(tmp_path):
    import h5py

    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["default"] = "missing"  # a broken chain is no chain
        h5.create_dataset("entry/data/data", data=STACK[:2])
    np.testing.assert_array_equal(read_array(path, 1)[0], STACK[1])
