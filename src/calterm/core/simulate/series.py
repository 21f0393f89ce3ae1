"""Synthetic image series at a known truth, for ``calibrate-many`` and ``series``' tests and benchmarks.

- :func:`distance_series`: one calibrant measured at several detector distances, the detector
  moved along its normal by a known travel (dist_i = L0 + travel_i, centre and tilts unchanged):
  the data a wavelength calibration from known travel needs.
- :func:`drift_series`: a run in which the geometry drifts linearly per image, with optional
  jumps from a given image on (a detector knocked), each image written with a later file time.
Each image is rendered by :func:`calterm.core.simulate.powder.render` (Poisson noise, seeded).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from calterm.core.common.geometry import PoniGeometry
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, render


def distance_series(base: SyntheticCase, travel_m: list[float], folder: str | os.PathLike,
                    prefix: str = "dist") -> list[tuple[Path, PoniGeometry]]:
    """``base`` rendered at ``base.geometry.dist + travel`` for each travel; (path, truth) per image."""
    out = []
    for k, travel in enumerate(travel_m):
        geometry = replace(base.geometry, dist=base.geometry.dist + travel)
        out.append((_write(replace(base, geometry=geometry, seed=base.seed + k), folder, f"{prefix}_{k:02d}.tif"),
                    geometry))
    return out


def drift_series(base: SyntheticCase, n: int, folder: str | os.PathLike, drift: dict[str, float] | None = None,
                 jumps: dict[int, dict[str, float]] | None = None, prefix: str = "run",
                 start_time_s: float = 1.7e9, interval_s: float = 60.0) -> list[tuple[Path, PoniGeometry]]:
    """``n`` images, parameter p at image k = base + k·drift[p] (+ every jump at or before k)."""
    out = []
    for k in range(n):
        values = {p: getattr(base.geometry, p) + k * v for p, v in (drift or {}).items()}
        for at, step in (jumps or {}).items():
            if k >= at:
                for p, v in step.items():
                    values[p] = values.get(p, getattr(base.geometry, p)) + v
        geometry = replace(base.geometry, **values)
        path = _write(replace(base, geometry=geometry, seed=base.seed + k), folder, f"{prefix}_{k:03d}.tif")
        os.utime(path, (start_time_s + k * interval_s, start_time_s + k * interval_s))
        out.append((path, geometry))
    return out


def _write(case: SyntheticCase, folder, name: str) -> Path:
    image, _ = render(case)
    path = Path(folder) / name
    write_image(path, image)
    return path
