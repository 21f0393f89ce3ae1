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
