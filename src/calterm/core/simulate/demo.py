"""The built-in demo: a LaB6 image rendered by pyFAI at a known geometry, cached on first use.

Cached under ``$CALTERM_CACHE`` (default ``~/.cache/calterm``) as a TIFF, so the second start is
instant and the demo behaves like any user file.
"""

from __future__ import annotations

import os
from pathlib import Path

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import demo_case, render


def cache_dir() -> Path:
    return Path(os.environ.get("CALTERM_CACHE", Path.home() / ".cache" / "calterm"))


def demo_image_path() -> Path:
    """Path of the demo image, rendering it the first time."""
    path = cache_dir() / "demo-LaB6-Pilatus1M.tif"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        image, _ = render(demo_case())
        write_image(path, image.astype("float32"))
    return path


def demo_request() -> CalibrationRequest:
    """Start values a user would type for the demo: distance 5 % off, centre 12 px off, no tilt."""
    truth = demo_case().geometry
    pixel = 172e-6
    cx, cy = truth.poni2 / pixel - 0.5, truth.poni1 / pixel - 0.5
    return CalibrationRequest(
        image_path=str(demo_image_path()),
        calibrant="LaB6",
        wavelength_m=truth.wavelength,
        detector="Pilatus1M",
        distance_mm=round(truth.dist * 1e3 * 1.05, 1),
        center_xy=(round(cx + 12), round(cy - 9)),
    )
