"""inputs.calibrate / inputs.circle: the one parser of what a user types, for the CLI and the app."""

from __future__ import annotations

import math

import pytest

from calterm.core.common.calibrants import HC_KEV_A, energy_keV
from calterm.inputs.calibrate import calibration_outputs, calibration_request, parse_point
from calterm.inputs.circle import circle_request
from calterm.inputs.values import FieldError


@pytest.fixture
def base(tmp_path):
    image = tmp_path / "i.tif"
    image.write_bytes(b"")
    return calibration_request({"image": str(image), "calibrant": "LaB6", "wavelength": "0.4"})


def test_fields_build_the_frozen_request(base):
    r = calibration_request({"point": ["10,20@3", "5;6"], "fix": "dist", "free": "wavelength",
                             "bound": ["rot1=-0.1,", "rot2=,0.2"], "center": "1.5, 2", "rings": "4"}, base=base)
    assert r.points[0].ring == 3 and (r.points[1].x, r.points[1].y, r.points[1].ring) == (5.0, 6.0, None)
    assert r.constraints.fixed == {"dist", "rot3"}
    assert r.constraints.bounds == {"rot1": (-0.1, math.inf), "rot2": (-math.inf, 0.2)}
    assert r.center_xy == (1.5, 2.0) and r.rings == 4 and r.wavelength_m == pytest.approx(0.4e-10)
    assert calibration_request({"energy": str(HC_KEV_A)}, base=base).wavelength_m == pytest.approx(1e-10, rel=1e-15)
    assert energy_keV(1e-10) == HC_KEV_A


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"wavelength": "0,70932"}, "wavelength", "--wavelength: a decimal point is expected: 0.70932, not 0,70932"),
    ({"wavelength": "abc"}, "wavelength", "--wavelength: expected a number, got 'abc'"),
    ({"wavelength": "50"}, "wavelength", "--wavelength: 50.0 Å is not plausible (0.01-20 Å)"),
    ({"energy": ""}, "energy", "--energy: a value is needed"),
    ({"distance": "-3"}, "distance", "--distance: expected a positive finite number"),
    ({"point": ["1,2@0"]}, "point", "ring numbers start at 1"),
    ({"bound": {"rot1": ("0.5", "0.2")}}, "bound", "low bound must be below the high one"),
    ({"bound": ["rot1"]}, "bound", "a bound is PARAM=LO,HI"),
    ({"fix": "tilt"}, "fix", "unknown geometry parameter(s) tilt"),
    ({"search_size": "0"}, "search_size", "--search-size: must be at least 1"),
    ({"mask": "/no/such.edf"}, "mask", "no such file"),
])
def test_a_bad_field_is_one_line_naming_it(base, fields, field, says):
    with pytest.raises(FieldError) as err:
        calibration_request(fields, base=base)
    assert err.value.field == field and says in str(err.value) and "\n" not in str(err.value)


def test_outputs_checked_before_any_work(tmp_path):
    assert calibration_outputs({"history": str(tmp_path / "h.csv"), "cake": None}) == {"history": tmp_path / "h.csv"}
    for paths, says in (({"cake": str(tmp_path / "x.xyz")}, "--cake"), ({"history": "/proc/h.csv"}, "cannot write"),
                        ({"history": str(tmp_path / "a.csv"), "residuals": str(tmp_path / "a.csv")}, "same file")):
        with pytest.raises(Exception, match=says):
            calibration_outputs(paths)
    assert list(tmp_path.iterdir()) == []


def test_circle_request():
    r = circle_request({"point": [f"{i},{i * i}" for i in range(5)], "fixed_center": "1,2", "wavelength": 1.0,
                        "search_size": 0, "points_only": True})
    assert len(r.points) == 5 and r.fixed_center == (1.0, 2.0) and r.scale.wavelength_A == pytest.approx(1.0)
    assert r.options.search_px == 0 and r.options.use_image is False
    with pytest.raises(FieldError, match="--mad-threshold"):
        circle_request({"mad_threshold": "0,5"})
    assert parse_point("3,4", default_ring=2).ring == 2
