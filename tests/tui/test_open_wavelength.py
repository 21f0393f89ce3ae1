"""`calterm IMAGE` with no wavelength typed: the image header's wavelength, not a placeholder (the
app passed 1 Å as if typed, which hid the header's); 1 Å only when the header has none."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.cli import build_parser
from calterm.cli.tui import build_session


def _request(argv):
    session, _, _ = build_session(build_parser().parse_args(["tui", *argv]))
    return session.request


def test_the_header_wavelength_is_used(realdata_path):
    request = _request([str(realdata_path("AgBe_Quantum.img"))])
    assert request.wavelength_m == pytest.approx(1.6083e-10)
    assert "wavelength_A" in request.from_header
    typed = _request([str(realdata_path("AgBe_Quantum.img")), "--wavelength", "0.9"])
    assert typed.wavelength_m == pytest.approx(0.9e-10) and "wavelength_A" not in typed.from_header


def test_no_header_wavelength_gives_the_placeholder(tmp_path):
    path = tmp_path / "plain.npy"
    np.save(path, np.zeros((64, 64), np.float32))
    assert _request([str(path)]).wavelength_m == pytest.approx(1e-10)
