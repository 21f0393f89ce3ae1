"""Binned and rotated registry detectors written so that pyFAI, reading the PONI alone, keeps
their gaps: checked by integrating with pyFAI from the written file (gap pixels hold a huge value;
any of them used shows in the pattern)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calterm.core.common.detectors import oriented, resolve_detector
from calterm.core.common.geometry import PoniGeometry, geometry_from_center, poni_text
from calterm.core.common.poni_detectors import keep_gaps_beside, needs_definition

GAP_VALUE = 1e9


def _write_poni(tmp_path, choice, name="calib.poni") -> tuple[str, PoniGeometry]:
    det = choice.detector
    rows, cols = det.shape
    geometry = geometry_from_center(det, 0.15, (0.43 * cols, 0.57 * rows), 1e-10)
    path = tmp_path / name
    written = keep_gaps_beside(det, path, "test")
    path.write_text(poni_text(geometry, written, calibrant="LaB6"))
    return str(path), geometry


def _integrate_from_poni(path: str, image: np.ndarray):
    """What a pyFAI user does with our PONI: load it, integrate (the detector's mask applied)."""
    import pyFAI

    ai = pyFAI.load(path)
    return ai, ai.integrate1d(image, 200, unit="2th_deg", correctSolidAngle=False, polarization_factor=None)


def _check_gaps_honoured(path: str, det) -> None:
    gaps = np.asarray(det.mask) != 0
    assert 0.01 < gaps.mean() < 0.5  # a real module layout
    image = np.where(gaps, GAP_VALUE, 1.0)
    ai, result = _integrate_from_poni(path, image)
    assert tuple(ai.detector.shape) == tuple(det.shape)
    np.testing.assert_array_equal(np.asarray(ai.detector.mask) != 0, gaps)
    filled = result.count > 0 if hasattr(result, "count") and result.count is not None else np.isfinite(result.intensity)
    assert np.nanmax(result.intensity[filled]) == pytest.approx(1.0)  # no gap pixel in any bin


@pytest.mark.parametrize("shape, name", [((258, 258), "Maxipix2x2"), ((1081, 1034), "Eiger2_4M")])
def test_binned_detector_pyfai_can_rebin_is_written_by_name(tmp_path, shape, name):
    choice = resolve_detector(shape, name)
    assert "binned 2x2" in choice.name and not needs_definition(choice.detector)
    path, geometry = _write_poni(tmp_path, choice)
    text = Path(path).read_text()
    assert "Detector: Detector\n" not in text and '"pixel1": 0.000' in text
    assert not list(tmp_path.glob("*.h5"))  # no definition file needed
    _check_gaps_honoured(path, choice.detector)
    import pyFAI

    ai = pyFAI.load(path)
    rows, cols = np.mgrid[0 : shape[0] : 31, 0 : shape[1] : 29]
    np.testing.assert_allclose(ai.tth(rows.ravel(), cols.ravel()),
                               geometry.tth(choice.detector, rows.ravel(), cols.ravel()), atol=1e-12)


@pytest.mark.parametrize("rotate, flip", [(0, None), (90, None), (270, "h"), (180, None), (0, "v")])
def test_pilatus_binned_4x4_and_rotated_keep_gaps_through_a_definition(tmp_path, rotate, flip):
    """Pilatus1M 1043x981 binned 4x4: pyFAI cannot rebin it by name; rotated/flipped: no name at all."""
    choice = oriented(resolve_detector((260, 245), "Pilatus1M"), rotate, flip)
    assert needs_definition(choice.detector)
    path, geometry = _write_poni(tmp_path, choice)
    definitions = sorted(p.name for p in tmp_path.glob("*.h5"))
    assert definitions == ["calib.detector.h5", "calib.detector.v0.h5"]
    assert "NexusDetector" in Path(path).read_text()
    _check_gaps_honoured(path, choice.detector)


def test_plain_detectors_are_written_as_before(tmp_path):
    import pyFAI.detectors

    registry = resolve_detector((1043, 981), "Pilatus1M")
    path, _ = _write_poni(tmp_path, registry, "registry.poni")
    assert "Detector: Pilatus1M" in Path(path).read_text()
    generic = resolve_detector((300, 200), None, 75.0)
    path, _ = _write_poni(tmp_path, generic, "generic.poni")
    assert "Detector: Detector" in Path(path).read_text()
    assert not list(tmp_path.glob("*.h5"))
    assert isinstance(keep_gaps_beside(generic.detector, tmp_path / "x.poni"), pyFAI.detectors.Detector)


def test_a_detector_with_a_sensor_is_left_to_pyfai_config(tmp_path):
    """A sensor (parallax) rides in pyFAI's own detector config; it is not moved into a definition."""
    import copy

    from pyFAI.detectors.sensors import SensorConfig

    det = copy.deepcopy(resolve_detector((260, 245), "Pilatus1M").detector)
    assert needs_definition(det)
    det.sensor = SensorConfig("Si", 450e-6)
    assert not needs_definition(det)
    assert keep_gaps_beside(det, tmp_path / "s.poni") is det and not list(tmp_path.glob("*.h5"))
