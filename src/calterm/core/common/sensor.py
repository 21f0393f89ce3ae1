"""The detector's sensor (material, thickness) and pyFAI's parallax model, behind one adapter.

X-rays entering a thick sensor at an angle are absorbed on average some depth below its surface,
so a ring lands further out than a flat, infinitely thin detector predicts: tens of microns for
450 µm of silicon at 30 keV, more for CdTe. pyFAI (2026.9) models this: a detector's ``sensor``
(``SensorConfig``: material, thickness) and the geometry's ``enable_parallax``, written to the PONI
as ``Parallax: True`` with the sensor in ``Detector_config``. We only choose when to switch it on.

Several registry detectors carry a default sensor (the Eiger2 CdTe's 750 µm), so the sensor alone
must not switch parallax on for everyone: a detector the user gave ``--sensor`` for is marked, and
:func:`enable_parallax` (called for every geometry calterm builds) acts on marked detectors only.
"""

from __future__ import annotations

import copy

from calterm.errors import InputError

PARALLAX_MARK = "_calterm_parallax"  # set on detectors whose parallax the user asked for


def materials() -> list[str]:
    """The sensor materials pyFAI knows (absorption tables)."""
    from pyFAI.detectors.sensors import ALL_MATERIALS

    return sorted(ALL_MATERIALS)


def sensor_material(name: str) -> str:
    """pyFAI's spelling of a material name typed in any case, or one InputError line."""
    for known in materials():
        if known.lower() == name.strip().lower():
            return known
    raise InputError(f"unknown sensor material {name!r} (pyFAI knows {', '.join(materials())})")


def with_sensor(detector, material: str, thickness_um: float):
    """A copy of the pyFAI detector with this sensor, marked so its geometries model parallax."""
    from pyFAI.detectors.sensors import SensorConfig

    if not (thickness_um > 0 and thickness_um < 1e5):
        raise InputError(f"sensor thickness must be positive (µm), not {thickness_um}")
    det = copy.deepcopy(detector)
    det.sensor = SensorConfig(sensor_material(material), thickness_um * 1e-6)
    setattr(det, PARALLAX_MARK, True)
    return det


def mark_parallax(detector) -> None:
    """Say that this detector's geometries model parallax (a PONI read back with ``Parallax: True``)."""
    setattr(detector, PARALLAX_MARK, True)


def enable_parallax(ai):
    """Switch pyFAI's parallax correction on for ``ai`` when its detector is marked; returns ``ai``."""
    det = ai.detector
    if getattr(det, PARALLAX_MARK, False) and det.sensor is not None and ai.wavelength:
        ai.enable_parallax(True)
    return ai
