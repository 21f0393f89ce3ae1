"""The joint and series inputs (issue 16): travel typed or read from headers, the model text,
per-image values, natural order of a series' glob; each bad field one InputError naming it."""

from __future__ import annotations

import fabio
import numpy as np
import pytest

from calterm.errors import InputError
from calterm.inputs.joint import joint_request, parse_model, parse_travel
from calterm.inputs.series import series_paths


def _edf(path, distance_m=None):
    header = {} if distance_m is None else {"SampleDistance": str(distance_m)}
    fabio.edfimage.EdfImage(data=np.zeros((8, 8), np.float32), header=header).write(str(path))
    return str(path)


def test_travel_from_headers(tmp_path):
    images = [_edf(tmp_path / f"{k}.edf", d) for k, d in enumerate((0.25, 0.35, 0.55))]
    assert parse_travel("header", images) == pytest.approx((0.0, 0.1, 0.3))
    assert parse_travel("0,100,300", images) == pytest.approx((0.0, 0.1, 0.3))
    assert parse_travel("", images) is None


def _cbf(path, distance_m):
    image = fabio.cbfimage.CbfImage(data=np.zeros((8, 8), np.int32))
    image.header["_array_data.header_contents"] = (
        "# Detector: PILATUS 1M, S/N 10-0100\n# Pixel_size 172e-6 m x 172e-6 m\n# Wavelength 0.5 A\n"
        f"# Detector_distance {distance_m} m\n# Beam_xy (4.0, 4.0) pixels\n")
    image.write(str(path))
    return str(path)


def _smv(path, distance_m):
    header = {"DISTANCE": f"{distance_m * 1e3}", "PIXEL_SIZE": "0.1", "WAVELENGTH": "0.5"}  # ADSC: mm
    fabio.adscimage.AdscImage(data=np.zeros((8, 8), np.uint16), header=header).write(str(path))
    return str(path)


def _nexus(path, distance_m, units="m"):
    import h5py

    with h5py.File(path, "w") as f:
        f["entry/data/data"] = np.zeros((1, 8, 8), np.uint16)
        scale = {"m": 1.0, "mm": 1e3}[units]
        f.create_dataset("entry/instrument/detector/detector_distance", data=distance_m * scale).attrs["units"] = units
    return f"{path}::/entry/data/data"


@pytest.mark.parametrize("write, suffix", [(_cbf, ".cbf"), (_smv, ".img"), (_nexus, ".h5"),
                                           (lambda p, d: _nexus(p, d, "mm"), ".h5")],
                         ids=["miniCBF", "ADSC", "NeXus-m", "NeXus-mm"])
def test_travel_from_headers_of_every_format_that_states_a_distance(tmp_path, write, suffix):
    """Each format's own distance key and unit (miniCBF m, ADSC mm, NeXus by @units), not only EDF's."""
    images = [write(tmp_path / f"{k}{suffix}", d) for k, d in enumerate((0.2345, 0.3345, 0.6345))]
    assert parse_travel("header", images) == pytest.approx((0.0, 0.1, 0.4), abs=1e-9)


def test_travel_from_headers_of_mixed_formats(tmp_path):
    images = [_edf(tmp_path / "a.edf", 0.25), _cbf(tmp_path / "b.cbf", 0.3), _nexus(tmp_path / "c.h5", 0.45, "mm")]
    assert parse_travel("header", images) == pytest.approx((0.0, 0.05, 0.2), abs=1e-9)


def test_travel_from_headers_needs_every_header(tmp_path):
    images = [_edf(tmp_path / "a.edf", 0.25), _edf(tmp_path / "b.edf")]
    with pytest.raises(InputError, match="b.edf states no distance"):
        parse_travel("header", images)


def test_model_text():
    assert parse_model("rot3=shared, wavelength=fixed", linked_default=True) == {
        "dist": "linked", "rot3": "shared", "wavelength": "fixed"}
    with pytest.raises(InputError, match="PARAM=MODE"):
        parse_model("dist", linked_default=False)


def test_joint_request_fields(tmp_path):
    images = [_edf(tmp_path / f"{k}.edf", d) for k, d in enumerate((0.25, 0.35))]
    request = joint_request({"images": images, "calibrant": "LaB6,CeO2", "wavelength": "0.3", "distance": "250",
                             "travel": "0,100"})
    assert [r.calibrant for r in request.images] == ["LaB6", "CeO2"]
    assert [r.distance_mm for r in request.images] == [250.0, 350.0]  # one distance + travel: each its own start
    assert request.model.linked and request.model.travel_m == pytest.approx((0.0, 0.1))
    with pytest.raises(InputError, match="--wavelength"):
        joint_request({"images": images, "calibrant": "LaB6", "wavelength": "0,3"})
    with pytest.raises(InputError, match="at least two images"):
        joint_request({"images": images[:1], "calibrant": "LaB6", "wavelength": "0.3"})
    with pytest.raises(InputError, match="given twice"):
        joint_request({"images": [images[0], images[0]], "calibrant": "LaB6", "wavelength": "0.3"})


def test_series_glob_in_natural_order(tmp_path):
    for k in (10, 9, 1):
        (tmp_path / f"img_{k}.tif").write_bytes(b"")
    assert [p.rsplit("/", 1)[1] for p in series_paths([str(tmp_path / "img_*.tif")])] == [
        "img_1.tif", "img_9.tif", "img_10.tif"]
