"""What the align screen's tests share: one tilted CeO2 powder on four quadrant panels with the
top-right panel moved, rendered into the test's home with its PONI beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calterm.core.common.geometry import PoniGeometry, poni_text
from calterm.core.simulate.panels import render_panels
from calterm.core.simulate.powder import SyntheticCase, make_detector

P = 100e-6
MOVED = {"top-right": (1.5, -0.8)}  # the panel's shift (px) in the rendered image


@pytest.fixture
def quadrant_powder(isolated_home):
    """``powder.npy`` and ``calib.poni`` in ``isolated_home`` (256x256 px of 100 µm, 50 mm, λ 0.5 Å)."""
    from calterm.core.common.panel_layouts import quadrants

    det = make_detector(SyntheticCase(None, "CeO2", PoniGeometry(0.1, 0, 0), shape=(256, 256), pixel_size_um=100))
    geo = PoniGeometry(0.05, 131.2 * P, 125.3 * P, math.radians(1.2), math.radians(0.9), 0.0, 0.5e-10)
    image = render_panels(geo, det, "CeO2", quadrants(det.shape), MOVED, resolution_deg=0.12, seed=2)
    np.save(isolated_home / "powder.npy", image)
    (isolated_home / "calib.poni").write_text(poni_text(geo, det))
    return isolated_home / "powder.npy", isolated_home / "calib.poni"
