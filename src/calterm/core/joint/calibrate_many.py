"""``calterm calibrate-many``: several images calibrated together.

1. Each image is calibrated on its own (:func:`calterm.core.calibrate.pipeline.calibrate`): its
   geometry is the start and its control points (ring peaks, labelled) are what the joint fit uses.
2. The images must be one detector: same shape and same detector, checked before the joint fit.
3. One least-squares fit over every image's points with the parameter model (:mod:`.fit`).
4. A verdict: doubtful when an image's own calibration was, or when the joint model fits an image
   much worse than its own calibration did (a wrong travel, a detector that moved sideways).
Nothing is written here; :func:`write_ponis` writes one PONI per image through the one writer.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from calterm.core.calibrate.refine import ControlPoints
from calterm.core.calibrate.uncertainty import sigma_comments
from calterm.core.calibrate.verdict import ring_residuals
from calterm.core.common.calibrants import load_calibrant
from calterm.core.common.geometry import poni_text
from calterm.core.common.jobs import JobContext
from calterm.core.io.writer import write_text_output
from calterm.core.joint.fit import SIGMA_METHOD, joint_fit
from calterm.core.joint.model import ImageFit, JointRequest, JointResult
from calterm.errors import InputError

WORSE_THAN_OWN = 3.0  # an image fitted this much worse jointly than alone: the model does not hold
RMS_FLOOR_DEG = 2e-4  # ... beyond this RMS (a few µrad differences of excellent fits are no alarm)


def calibrate_many(request: JointRequest, ctx: JobContext | None = None) -> JointResult:
    """Calibrate each image, then fit them together; the result carries its own verdict."""
    from calterm.core.calibrate.pipeline import calibrate

    ctx = ctx or JobContext()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    _check_one_shape(request)  # before any calibration: seconds per image
    own = []
    for k, image in enumerate(request.images):
        ctx.report(f"image {k + 1}/{len(request.images)}: own calibration", k, len(request.images) + 1)
        own.append(calibrate(image, JobContext(cancel=ctx.cancel)))
    timings["own"] = time.perf_counter() - t0
    _check_one_detector(request, own)
    points = [_points(result) for result in own]
    refine_wavelength, note = request.model.wavelength_identifiable()
    ctx.report("joint fit", len(request.images), len(request.images) + 1)
    t = time.perf_counter()
    fit = joint_fit([r.geometry for r in own], points, [r.detector for r in own], request.model, refine_wavelength)
    timings["joint"] = time.perf_counter() - t
    images = tuple(ImageFit(req.image_path, geo, result, res, ring_residuals(pts, res, geo.wavelength))
                   for req, geo, result, res, pts in zip(request.images, fit.geometries, own, fit.residuals, points,
                                                         strict=True))
    reasons = []
    for f in images:
        if not f.own.verdict.ok:
            reasons.append(f"{Path(f.image_path).name}: its own calibration is {f.own.verdict.status}")
        if f.rms_2th_deg > max(WORSE_THAN_OWN * f.own.rms_2th_deg, RMS_FLOOR_DEG):
            reasons.append(f"{Path(f.image_path).name}: joint RMS {f.rms_2th_deg:.2e}° against {f.own.rms_2th_deg:.2e}° "
                           "alone (does the model hold? travel, shared centre/tilts)")
    status = "doubtful" if reasons else "good"
    if not reasons:
        reasons.append(f"{len(images)} images fitted together, RMS 2θ within {WORSE_THAN_OWN:g}x of each alone")
    timings["total"] = time.perf_counter() - t0
    return JointResult(images, fit.values, fit.sigma, request.model, refine_wavelength, note, status, tuple(reasons),
                       timings, SIGMA_METHOD)


def _points(result) -> ControlPoints:
    d = np.asarray(load_calibrant(result.calibrant).d_spacings_A)
    return ControlPoints(result.rows, result.cols, result.ring, d[result.ring - 1])


def _check_one_shape(request: JointRequest) -> None:
    from calterm.core.io.images import load_image

    shapes = [load_image(r.image_path, r.frame, r.rotate, r.flip).shape for r in request.images]
    for req, shape in zip(request.images[1:], shapes[1:], strict=True):
        if shape != shapes[0]:
            raise InputError(f"{req.image_path} is {shape[1]}x{shape[0]} px, {request.images[0].image_path} "
                             f"{shapes[0][1]}x{shapes[0][0]}: one joint fit needs one detector")


def _check_one_detector(request: JointRequest, own) -> None:
    first = own[0]
    for req, result in zip(request.images[1:], own[1:], strict=True):
        if result.shape != first.shape:
            raise InputError(f"{req.image_path} is {result.shape[1]}x{result.shape[0]} px, "
                             f"{request.images[0].image_path} {first.shape[1]}x{first.shape[0]}: "
                             "one joint fit needs one detector")
        if result.detector_name != first.detector_name:
            raise InputError(f"{req.image_path} is a {result.detector_name}, {request.images[0].image_path} a "
                             f"{first.detector_name}: one joint fit needs one detector")


def poni_paths(request: JointRequest, directory: str | Path) -> list[Path]:
    """One PONI per image in ``directory``, named after the image (``run/a.tif`` -> ``DIR/a.poni``)."""
    names = [Path(r.image_path.split("::", 1)[0]).stem for r in request.images]
    if len(set(names)) != len(names):
        names = [f"{k:03d}_{n}" for k, n in enumerate(names)]  # two images of the same name
    return [Path(directory) / f"{n}.poni" for n in names]


def write_ponis(result: JointResult, paths: list[Path], command: str = "") -> list[str]:
    """Each image's joint geometry as a PONI file, versioned by the one writer."""
    from calterm.core.common.poni_detectors import keep_gaps_beside

    written = []
    for f, path in zip(result.images, paths, strict=True):
        comments = [f"calterm joint calibration of {len(result.images)} images ({result.status}): "
                    f"model {', '.join(f'{k}={v}' for k, v in result.model.modes.items())}",
                    f"RMS 2theta {f.rms_2th_deg:.6f} deg over {f.residual_rad.size} points",
                    result.wavelength_note, *sigma_comments({k: v for k, v in result.sigma.items()})]
        detector = keep_gaps_beside(f.own.detector, path, command)
        text = poni_text(f.geometry, detector, f.own.calibrant, comments=comments)
        written.append(str(write_text_output(path, text, command=command,
                                             inputs={"image": f.image_path, "calibrant": f.own.calibrant})))
    return written
