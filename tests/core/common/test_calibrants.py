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


def _lab6_rings() -> list[float]:
    import numpy as np
    import pyFAI.calibrant

    return sorted(set(np.round(pyFAI.calibrant.get_calibrant("LaB6").dspacing, 6)), reverse=True)[:8]


def test_two_column_d_i_file_uses_the_first_column(tmp_path):
    """A "d I" export (no '#'): pyFAI's parser takes the intensities as rings 100, 64, 41 Å."""
    rings = _lab6_rings()
    intensities = [100, 64, 41, 37, 22, 18, 12, 9]
    path = tmp_path / "LaB6_dI.D"
    path.write_text("".join(f"{d:.6f}   {i}\n" for d, i in zip(rings, intensities, strict=True)))
    cal = load_calibrant(str(path))
    assert cal.d_spacings_A[0] == pytest.approx(4.15683, rel=1e-5)
    assert list(cal.d_spacings_A) == pytest.approx(rings, rel=1e-9)
    assert "first column" in cal.note


def test_pyfai_calibrant_files_read_as_pyfai_reads_them(tmp_path):
    """Our reader of .D files against pyFAI's on its own shipped files (d # (hkl) mult lines)."""
    import numpy as np
    import pyFAI.calibrant

    for name in ("LaB6", "CeO2", "AgBh", "Si", "alpha_Al2O3", "PBBA"):
        cal = pyFAI.calibrant.get_calibrant(name)
        path = tmp_path / f"{name}.D"
        cal.save_dSpacing(str(path))
        ours = load_calibrant(str(path)).d_spacings_A
        theirs = sorted(set(np.round(cal.dspacing, 9)), reverse=True)
        assert list(ours) == pytest.approx(theirs, rel=1e-6), name


@pytest.mark.parametrize("text, message", [
    ("4.157\n-2.939\n", "positive"),
    ("4.157\n0\n", "positive"),
    ("100\n4.157\n2.939\n2.4\n", "far|apart"),
    ("4.157\nd-spacing\n", "line 2"),
    ("# only a comment\n", "no d-spacings"),
    ("4,15695\n2,93940\n", "decimal comma"),
])
def test_implausible_d_spacings_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.D"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_calibrant(str(path))


def test_csv_d_i_export_uses_the_first_column(tmp_path):
    rings = _lab6_rings()
    path = tmp_path / "LaB6.csv.D"
    path.write_text("".join(f"{d:.6f},{i}\n" for d, i in zip(rings, range(100, 20, -10), strict=True)))
    assert list(load_calibrant(str(path)).d_spacings_A) == pytest.approx(rings, rel=1e-9)
