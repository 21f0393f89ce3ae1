"""The files one calibration writes (PONI, history CSV, 1D pattern, cake, residuals), for both faces.

The paths were checked before the calibration started (:func:`calterm.inputs.calibrate.calibration_outputs`);
here each goes through the one output writer, so each is a new version (``NAME.vK.EXT``, ``NAME.EXT``
links to it, ``NAME.EXT.log`` says what wrote it) and an earlier run's file is never replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from calterm.core.calibrate.model import CalibrationRequest, CalibrationResult


def write_calibration_outputs(result: CalibrationResult, request: CalibrationRequest,
                              paths: Mapping[str, Path], command: str = "") -> dict:
    """Write every output in ``paths`` ({"poni"|"history"|"pattern"|"cake"|"residuals": path});
    return {key: what the summary reports} (the path, or the cake's path and axes)."""
    from calterm.core.calibrate import integrate
    from calterm.core.calibrate.pipeline import write_poni

    written: dict = {}
    if "poni" in paths:
        written["poni"] = str(write_poni(result, paths["poni"], command))
    if "history" in paths:
        result.history.write_csv(paths["history"], command=command,
                                 inputs={"calibrant": result.calibrant, "detector": result.detector_name})
        written["history"] = str(paths["history"])
    if "pattern" in paths:
        integrate.write_pattern(result, request, paths["pattern"], command=command)
        written["pattern"] = str(paths["pattern"])
    if "cake" in paths:
        written["cake"] = integrate.write_cake(result, request, paths["cake"], command=command)
    if "residuals" in paths:
        integrate.write_residuals(result, paths["residuals"], command=command)
        written["residuals"] = str(paths["residuals"])
    return written
