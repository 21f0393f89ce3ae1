"""Calibrants: pyFAI's by name, user .D files by path or in $CALTERM_CALIBRANTS, wavelength from energy."""

from __future__ import annotations

import pytest

from calterm.core.common.calibrants import load_calibrant, wavelength_m
from calterm.errors import InputError


def test_calibrants(tmp_path, monkeypatch):
    lab6 = load_calibrant("lab6")
    assert lab6.name == "LaB6" and lab6.d_spacings_A[0] == pytest.approx(4.15683, rel=1e-5)
    assert all(a > b for a, b in zip(lab6.d_spacings_A, lab6.d_spacings_A[1:], strict=False))
    user = tmp_path / "cal"
    user.mkdir()
    (user / "Mine.D").write_text("# my calibrant\n5.0\n2.5\n2.5\n")
    assert load_calibrant(str(user / "Mine.D")).d_spacings_A == (5.0, 2.5)
    monkeypatch.setenv("CALTERM_CALIBRANTS", str(user))
    assert load_calibrant("Mine").source.endswith("Mine.D")
    with pytest.raises(InputError, match="unknown calibrant"):
        load_calibrant("Unobtainium")
    assert wavelength_m(energy_keV=12.398419843320026) == pytest.approx(1e-10)
    with pytest.raises(InputError):
        wavelength_m(1.0, 12.0)
    with pytest.raises(InputError):
        wavelength_m(energy_keV=-3)
