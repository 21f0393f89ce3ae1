"""A detector with a Fit2D spline file: pyFAI's model of a distorting detector (FReLoN, image
plates, tapered CCDs), as Dioptas and pyFAI-calib2 load it.

pyFAI reads the spline and moves every pixel by it (``Detector.set_splineFile``); its PONI writer
puts the file's path in the detector config, so pyFAI reads the PONI back with the distortion.
We only check the file fits the image before any work.
"""

from __future__ import annotations

import copy
import os

from calterm.errors import InputError


def with_spline(detector, path: str, shape: tuple[int, int]):
    """A copy of the pyFAI detector that applies the spline file at ``path`` (one InputError line
    when the file is missing, is not a Fit2D spline, or covers another shape than the image)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: spline file not found")
    try:
        from pyFAI.spline import Spline

        spline = Spline(path)
        size = tuple(int(round(s)) for s in spline.getDetectorSize())
    except Exception as exc:
        raise InputError(f"{path}: not a Fit2D spline file ({type(exc).__name__}: {exc})") from exc
    if size != tuple(shape):
        raise InputError(f"{path}: the spline covers {size[0]}x{size[1]} pixels, the image is {shape[0]}x{shape[1]}")
    marked = {k: v for k, v in vars(detector).items() if k.startswith("_calterm")}
    det = copy.deepcopy(detector)
    if getattr(det, "_pixel_corners", None) is not None:
        # corners stored for an earlier spline (``pointwise``, a PONI's own): pyFAI keeps them when
        # the spline file changes, and they would go on placing the pixels by the old file
        det.set_pixel_corners(None)
    det.splinefile = os.path.abspath(path)
    for key, value in marked.items():  # pyFAI's copy keeps only its own attributes
        setattr(det, key, value)
    return pointwise(det)


def pointwise(detector):
    """Make a spline-carrying detector cheap at scattered points, in place; returns it.

    pyFAI evaluates a spline at a list of N points through an N x N grid (``Spline.splineFuncX``
    with ``list_of_points``): 118 GiB for the 177 840 points of a ring table. Its pixel-corner path
    is linear in N (bilinear between corners, float32: 1e-4 px at 0.1 m), so the corners pyFAI
    computes from the spline are stored on the detector; its spline stays for the PONI's config."""
    if getattr(detector, "spline", None) is not None and getattr(detector, "_pixel_corners", None) is None:
        detector.set_pixel_corners(detector.get_pixel_corners())
        # Off the detector the corner path clamps to the edge pixel and logs each call ("N pixels
        # clipped", 44 stderr lines per CeO2 calibration): the ring table's rays run past the edges
        # by design and only their samples on the image are used, so the warning is noise there.
        import logging

        logging.getLogger("bilinear").setLevel(logging.ERROR)
    return detector
