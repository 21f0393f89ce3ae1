"""Detectors: pyFAI's registry by shape or name, binned shapes, generic pixels, one-line refusals."""

from __future__ import annotations

import pytest

from calterm.core.common.detectors import detector_mask, resolve_detector
from calterm.errors import InputError


def test_detectors():
    choice = resolve_detector((1043, 981))
    assert choice.name == "Pilatus1M" and choice.how == "by shape" and "PilatusCdTe1M" in choice.alternatives
    assert detector_mask(choice, (1043, 981)).sum() > 50000  # module gaps
    assert resolve_detector((2167, 2070), "eiger4m").name == "Eiger4M"
    binned = resolve_detector((521, 490), "Pilatus1M")
    assert binned.detector.pixel1 == pytest.approx(344e-6) and "binned 2x2" in binned.name
    generic = resolve_detector((100, 200), pixel_size_um=75)
    assert generic.how == "generic" and generic.pixel_size_um == pytest.approx((75, 75))
    with pytest.raises(InputError, match="registry"):
        resolve_detector((100, 200))
    with pytest.raises(InputError, match="unknown detector"):
        resolve_detector((100, 200), "NoSuchThing")
    with pytest.raises(InputError, match="shape"):
        resolve_detector((100, 200), "Pilatus1M")
    with pytest.raises(InputError, match="positive"):
        resolve_detector((100, 200), pixel_size_um=-1)


def test_same_shape_candidates_are_reported_and_header_decides():
    """An Eiger2_250k image (75 µm) has HF_262k's shape (150 µm): the choice names both, says why
    it took one, and takes the one the file's header names or whose pixel size it states."""
    from calterm.core.io.headers import HeaderFacts

    plain = resolve_detector((512, 512))
    assert set(plain.candidates) == {"HF_262k", "Eiger2_250k"}
    assert "2 candidates" in plain.reason and "Eiger2_250k" in plain.describe()
    assert plain.as_dict()["candidates"] == list(plain.candidates)
    named = resolve_detector((512, 512), header=HeaderFacts(detector="Dectris EIGER2 Si 250K"))
    assert named.name == "Eiger2_250k" and named.pixel_size_um == pytest.approx((75, 75))
    assert "header names it" in named.reason and named.alternatives == ("HF_262k",)
    by_pixel = resolve_detector((512, 512), header=HeaderFacts(pixel_size_um=(75.0, 75.0)))
    assert by_pixel.name == "Eiger2_250k" and "pixel size" in by_pixel.reason
    hf = resolve_detector((512, 512), header=HeaderFacts(pixel_size_um=(150.0, 150.0)))
    assert hf.name == "HF_262k"
    typed = resolve_detector((512, 512), "HF_262k", header=HeaderFacts(detector="EIGER2 250K"))
    assert typed.name == "HF_262k" and typed.how == "named"  # typed beats the header
    assert resolve_detector((1043, 981), header=HeaderFacts(detector="PILATUS 1M")).name == "Pilatus1M"


def test_header_pixel_size_makes_a_generic_detector():
    from calterm.core.io.headers import HeaderFacts

    choice = resolve_detector((1200, 1200), header=HeaderFacts(pixel_size_um=(150.0, 150.0)))
    assert choice.how == "generic" and choice.reason == "pixel size from header"
    assert choice.pixel_size_um == pytest.approx((150, 150))
    typed = resolve_detector((1200, 1200), pixel_size_um=100, header=HeaderFacts(pixel_size_um=(150.0, 150.0)))
    assert typed.pixel_size_um == pytest.approx((100, 100)) and typed.reason == ""
