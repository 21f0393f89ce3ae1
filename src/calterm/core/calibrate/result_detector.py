"""The pyFAI detector a stored calibration was fitted on, rebuilt from its request.

A result kept as data (the app's session file) holds no pyFAI objects: only the detector's name,
the image shape and, when one was fitted, the smooth distortion's terms. Whatever uses the result
again (a PONI saved after ``--resume``, a refit, the check plots) needs the *same* detector model
the calibration used: the user's spline file, the sensor that switches parallax on, the fitted
distortion. Resolving the detector by name alone gives a flat one, and a PONI written from it
silently describes another detector. So the detector is rebuilt here exactly as
:func:`calterm.core.calibrate.pipeline.prepare` built it (registry or shape, header hints,
rotate/flip, :func:`~calterm.core.calibrate.distortion.detector_model`), then
:func:`~calterm.core.calibrate.distortion.distorted_detector` applies the fitted field.
"""

from __future__ import annotations

from dataclasses import replace

from calterm.core.calibrate.distortion import detector_model, distorted_detector
from calterm.core.calibrate.model import CalibrationRequest, CalibrationResult


def calibration_detector(request: CalibrationRequest, shape: tuple[int, int], facts=None):
    """The detector choice a calibration of ``request`` uses on an image of ``shape`` (as loaded,
    rotated and flipped): registry or shape (``facts``, the header's, break ties), the rotation and
    flip, then the user's spline and sensor. The pipeline and a resumed result both build it here,
    so a stored result is judged and written on the detector it was fitted on."""
    from calterm.core.common.detectors import oriented, resolve_detector

    raw_shape = tuple(shape) if request.rotate % 180 == 0 else tuple(shape)[::-1]
    choice = resolve_detector(raw_shape, request.detector, request.pixel_size_um, header=facts)
    return detector_model(oriented(choice, request.rotate, request.flip), request, tuple(shape))


def result_detector(result: CalibrationResult, request: CalibrationRequest):
    """The pyFAI detector of ``result`` (fitted on ``request``): the one it carries, else rebuilt.

    Raises
    ------
    InputError
        One line when the request's detector, spline file or sensor no longer make sense (a
        spline file deleted since, say).
    """
    if result.detector is not None:
        return result.detector
    from calterm.core.io.headers import header_facts

    shape = tuple(int(s) for s in result.shape)
    # the header breaks ties between registry detectors as it did for the calibration (no file: no facts)
    facts = header_facts(request.image_path, request.frame) if request.image_path else None
    det = calibration_detector(request, shape, facts).detector
    if result.distortion is not None:  # fitted on the base detector (with its sensor), as in the pipeline
        det = distorted_detector(det, result.distortion)
    return det


def with_result_detector(result: CalibrationResult, request: CalibrationRequest) -> CalibrationResult:
    """``result`` carrying its pyFAI detector (see :func:`result_detector`)."""
    if result.detector is not None:
        return result
    return replace(result, detector=result_detector(result, request))
