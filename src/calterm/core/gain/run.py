"""One gain-map run from files: load the positions, compute the map, describe it.

What ``calterm gain`` and the gain screen both do between "the user gave positions and options"
and "write the files" (:func:`calterm.core.gain.files.write_outputs`), so neither face repeats it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from calterm.core.common.jobs import JobContext
from calterm.core.gain.files import Position, PositionSpec, load_positions
from calterm.core.gain.gain_map import GainOptions, GainResult, compute_gain_map


@dataclass
class GainRun:
    """A computed map, its report (JSON-able, written as ``BASE_report.json``) and its positions."""

    result: GainResult
    report: dict
    positions: list[Position]
    form: str


def run_gain(specs: list[PositionSpec], options: GainOptions, form: str = "divide", *,
             detector_name: str | None = None, pixel_size_um: float | None = None, mask_path: str | None = None,
             ctx: JobContext | None = None) -> GainRun:
    """Load every position, add the mask file to ``options``, compute the map and its report."""
    from calterm.core.io.images import load_mask

    ctx = ctx or JobContext()
    started = time.perf_counter()
    positions, detector = load_positions(specs, detector_name, pixel_size_um, ctx)
    if mask_path:
        options = replace(options, mask=load_mask(mask_path, positions[0].image.shape))
    result = compute_gain_map(positions, detector, options, ctx)
    report = result.report()
    report["form"] = form
    report["inputs"] = [{"frames": p.frames, "calibration": p.calibration, "notes": p.notes} for p in positions]
    report["elapsed_s"] = round(time.perf_counter() - started, 3)
    return GainRun(result, report, positions, form)
