"""The app's one unit system (calterm.tui.units): what each quantity is shown in, in both systems,
and typed values converted exactly (the decimal the user wrote, rounded to a float once)."""

from __future__ import annotations

import math

import pytest

from calterm.core.common.geometry import PARAMS
from calterm.tui import units


@pytest.mark.parametrize(("quantity", "mm_unit", "poni_unit"), [
    ("distance", "mm", "m"), ("position", "mm", "m"), ("rotation", "mrad", "rad"), ("angle", "mrad", "rad"),
    ("tth", "°", "rad"), ("wavelength", "Å", "m"), ("pixel", "µm", "m"), ("energy", "keV", "keV"), ("d", "Å", "Å"),
])
def test_each_quantity_has_one_unit_per_system(quantity, mm_unit, poni_unit):
    assert units.unit(quantity, "mm") == mm_unit
    assert units.unit(quantity, "poni") == poni_unit


def test_every_poni_parameter_has_a_quantity():
    assert set(units.PARAM_QUANTITY) == set(PARAMS)


def test_shown_values_against_hand_conversions():
    assert units.fmt("distance", 0.18, "mm") == "180.0000"
    assert units.fmt("distance", 0.18, "poni") == "0.1800000"
    assert units.fmt("rotation", 0.0093012, "mm") == "9.3012"
    assert units.fmt("rotation", -0.0065075, "poni", unit_too=True) == "-0.0065075 rad"
    assert units.fmt("wavelength", 0.3344e-10, "mm") == "0.33440"
    assert units.fmt("wavelength", 0.3344e-10, "poni") == "3.34400e-11"
    assert units.fmt("tth", math.radians(12.5), "mm") == "12.5000"
    assert units.fmt("tth", 12.5, "poni", from_unit="°") == f"{math.radians(12.5):.6f}"
    assert units.fmt("angle", 1.7e-5, "mm", sign=True) == "+0.0170"
    assert units.fmt("d", 4.1569, "mm", from_unit="Å") == "4.15690"
    assert units.fmt("d", 0.41569, "poni", from_unit="nm") == "4.15690"
    assert units.fmt("pixel", 172.0, "mm", from_unit="µm") == "172"
    assert units.fmt("pixel", 172.0, "poni", from_unit="µm") == "0.000172"
    assert units.fmt("distance", None, "mm") == ""
    assert units.fmt("distance", float("nan"), "mm") == "nan"


def test_typed_values_are_converted_exactly():
    # 410.25 mm is the float 0.41025 m, which 410.25 * 1e-3 happens to be; 0.3344 Å is not 0.3344 * 1e-10
    assert float(units.typed_in("distance", "410.25", "mm", "m")) == 0.41025
    assert float(units.typed_in("wavelength", "0.3344", "mm", "m")) == 0.3344e-10
    assert 0.3344e-10 * 1e10 != 0.3344  # why a decimal shift, not a product
    assert units.convert_text(repr(0.3344e-10), "m", "Å") == "0.3344"
    assert units.typed_in("pixel", "0.000172", "poni", "µm") == "172"
    assert units.typed_in("rotation", "-12.5", "mm", "rad") == "-0.0125"
    assert units.typed_in("distance", "  ", "mm", "m") == ""


def test_text_that_is_not_a_number_is_left_for_the_parser():
    assert units.typed_in("distance", "abc", "mm", "m") == "abc"
    assert units.typed_in("distance", "inf", "mm", "m") == "inf"
    assert units.typed_in("distance", "-inf", "mm", "m") == "-inf"


def test_field_text_round_trips():
    for value in (0.41025, 0.1, 0.18, 1e-3, 0.0912):
        text = units.field_text("distance", value, "m", "mm")
        assert float(units.typed_in("distance", text, "mm", "m")) == value
    assert units.field_text("distance", 0.1, "m", "mm") == "100"
    assert units.field_text("distance", 410.25, "mm", "poni") == "0.41025"
    assert units.field_text("wavelength", 0.33437331, "Å", "mm", digits=6) == "0.334373"
    assert units.field_text("pixel", 150.0, "µm", "mm") == "150"
    assert units.field_text("distance", None, "m", "mm") == ""
    assert units.field_text("distance", math.inf, "m", "mm") == "inf"


def test_degrees_convert_through_radians():
    assert units.to_unit(180.0, "°", "rad") == math.pi
    assert units.to_unit(math.pi, "rad", "°") == 180.0
    assert units.to_unit(1.0, "°", "mrad") == pytest.approx(17.453292519943297)
    assert float(units.convert_text("0.5", "°", "rad")) == math.radians(0.5)


def test_system_names_and_toggle():
    assert units.system("poni") == "poni" and units.system(None) == "mm" and units.system("feet") == "mm"
    assert units.other("mm") == "poni" and units.other("poni") == "mm"
    assert units.header("dist", "distance", "poni") == "dist m"


def test_comma_lists_convert_part_by_part():
    assert units.convert_parts("0,100,200", "mm", "m") == "0,0.1,0.2"
    assert units.convert_parts("0,0.1,0.2", "m", "mm") == "0,100,200"
    assert units.convert_parts("header", "mm", "m") == "header"  # a word is the parser's to read
    assert units.convert_parts(" 0, 100 ", "mm", "mm") == "0, 100"  # the same unit: as typed


def test_form_fields_keep_the_parser_unit_and_show_the_system_one():
    from calterm.tui.screens.tool_form import Field

    jump = Field("jump_mm", "Jump mm", "0.1", quantity="distance")
    assert (jump.shown_label("mm"), jump.shown_label("poni")) == ("Jump mm", "Jump m")
    assert jump.shown_text("0.1", "poni") == "0.0001" and jump.kept_text("0.41025", "poni") == "410.25"
    assert jump.shown_text("0.1", "mm") == "0.1" and jump.kept_text(" 0.1", "mm") == " 0.1"
    tth = Field("range", "Range 2θ°", "", quantity="tth")
    assert (tth.shown_label("mm"), tth.shown_label("poni")) == ("Range 2θ°", "Range 2θ rad")
    travel = Field("travel", "Δ travel", "", lambda u: f"{u} hint", quantity="distance")
    assert travel.shown_label("poni") == "Δ travel" and travel.hint("poni") == "poni hint"  # the hint names it
