"""The single-ring screen's fields through :func:`calterm.inputs.circle.circle_screen_inputs`, the
CLI's parser (``circle_request``): each refusal is one line naming the field as the screen labels
it, and tied to that field (a :class:`FieldError`) so the screen turns it red."""

from __future__ import annotations

import pytest

from calterm.inputs.circle import circle_screen_inputs
from calterm.inputs.values import FieldError

LABELS = {"wavelength": "λ Å", "energy": "E keV", "distance": "dist mm", "d_spacing_A": "d Å",
          "fixed_center": "fixed centre", "pixel_size": "pixel µm", "seed_radius": "seed r"}


def _read(**fields):
    return circle_screen_inputs(fields, lambda key: LABELS.get(key, key))


def test_energy_distance_pixel_give_calibration_by_parameters():
    got = _read(energy="15.498", distance="1000", pixel_size="100", seed_radius="137", search_size=10)
    assert got.request.scale.wavelength_A == pytest.approx(12.398419843320026 / 15.498)
    assert got.request.scale.distance_mm == 1000.0 and got.request.scale.d_spacing_nm is None
    assert (got.pixel_size_um, got.seed_radius_px, got.request.options.search_px) == (100.0, 137.0, 10.0)
    assert got.request.fixed_center is None and got.request.points == ()


def test_d_in_angstrom_is_the_cli_d_spacing_in_nm():
    got = _read(wavelength="0.8", d_spacing_A="58.38")
    assert got.request.scale.d_spacing_nm == pytest.approx(5.838)
    assert got.request.scale.wavelength_A == pytest.approx(0.8)


def test_fixed_centre_only_when_its_box_is_checked():
    assert _read(fixed=False, fixed_center="1,2").request.fixed_center is None
    assert _read(fixed=True, fixed_center="255.3, 261.7").request.fixed_center == (255.3, 261.7)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"d_spacing_A": "58.38", "distance": "1000"}, "d_spacing_A", "d Å or dist mm, not both"),
    ({"wavelength": "0.8", "energy": "15"}, "wavelength", "exactly one of λ Å"),
    ({"fixed": True, "fixed_center": ""}, "fixed_center", "fixed centre: type the fixed centre"),
    ({"fixed": True, "fixed_center": "12"}, "fixed_center", "fixed centre: expected X,Y"),
    ({"distance": "-5"}, "distance", "dist mm"),
    ({"pixel_size": "abc"}, "pixel_size", "pixel µm"),
    ({"seed_radius": "0"}, "seed_radius", "seed r"),
])
def test_refusals_name_the_field(fields, field, words):
    with pytest.raises(FieldError) as err:
        _read(**fields)
    assert err.value.field == field and words in str(err.value) and "\n" not in str(err.value)
