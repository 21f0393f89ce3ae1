"""The detector a PONI names, so that pyFAI reading the file keeps the detector's gaps.

calterm bins and rotates registry detectors itself (``core.common.detectors``: pyFAI cannot bin
Pilatus1M's 1043x981 mask, and has no rotated detectors), which gives a generic pyFAI ``Detector``
with the module mask. Written as such, a PONI says ``Detector: Detector`` with a pixel size and a
shape, and every pyFAI reader (pyFAI-integrate, Dioptas, a beamline script) integrates the gaps
as pixels. Two ways keep them, the first where pyFAI can:

1. **Registry name + binning** (pure text): a generic detector whose pixel size, shape and mask are
   exactly a registry detector binned by an integer that divides its shape (Eiger2_4M 2x2, the
   Maxipix 2x2) is written as that detector; pyFAI infers the binning from the pixel size in
   ``Detector_config`` and rebuilds the mask (:func:`poni_detector`, used by ``poni_text``).
2. **A detector definition** beside the PONI (pyFAI's own NeXus detector file, ``Detector.save``,
   read back as ``NexusDetector``) for every other masked generic detector: binned by a factor
   that does not divide the shape (Pilatus1M 4x4: pyFAI refuses "input_img shape should be a
   multiple of the binning size"), rotated by 90/270 degrees or flipped (the mask in the
   calibrated image's frame). The PONI names the definition's immutable version by absolute path,
   as the spline of a fitted distortion is named (:func:`keep_gaps_beside`).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

DEFINITION_SUFFIX = ".detector.h5"


def _is_generic(detector) -> bool:
    import pyFAI.detectors

    return type(detector) is pyFAI.detectors.Detector


def _has_gaps(detector) -> bool:
    try:
        mask = detector.mask
    except RuntimeError:  # a mask pyFAI cannot rebin
        return False
    return mask is not None and bool(np.asarray(mask).any())


def _plain(detector) -> bool:
    """No spline and no sensor: nothing but pixel size, shape, mask and orientation to carry."""
    spline = getattr(detector, "splinefile", None)
    return not spline and getattr(detector, "sensor", None) is None


def _copy_marks(source, target):
    for key, value in vars(source).items():
        if key.startswith("_calterm"):  # calterm's own marks (parallax asked for)
            setattr(target, key, value)
    return target


def registry_equivalent(detector):
    """The registry detector, binned by pyFAI, that equals ``detector`` (pixel size, shape and
    mask), or None. Only integer binnings that divide the full shape: pyFAI reads no other back."""
    import warnings

    import pyFAI.detectors

    if not (_is_generic(detector) and _plain(detector) and _has_gaps(detector)) or detector.shape is None:
        return None
    shape = tuple(int(n) for n in detector.shape)
    mask = np.asarray(detector.mask) != 0
    for cls in sorted(set(pyFAI.detectors.ALL_DETECTORS.values()), key=lambda c: c.__name__):
        full = getattr(cls, "MAX_SHAPE", None)
        if not full or full[0] % shape[0] or full[1] % shape[1]:
            continue
        binning = (full[0] // shape[0], full[1] // shape[1])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                candidate = cls(orientation=int(detector.orientation))
                if not np.allclose((candidate.pixel1 * binning[0], candidate.pixel2 * binning[1]),
                                   (detector.pixel1, detector.pixel2), rtol=1e-9):
                    continue
                if binning != (1, 1):
                    candidate.binning = binning
                theirs = candidate.mask
        except Exception:  # a class that needs arguments or cannot bin its mask
            continue
        if theirs is not None and tuple(theirs.shape) == shape and np.array_equal(np.asarray(theirs) != 0, mask):
            return _copy_marks(detector, candidate)
    return None


def poni_detector(detector):
    """The detector to write into a PONI: the registry equivalent when there is one, else as given."""
    return registry_equivalent(detector) or detector


def needs_definition(detector) -> bool:
    """True when a PONI cannot carry this detector's gaps by name: a generic detector with a mask
    that no registry detector binned by pyFAI reproduces. A detector with a spline or a sensor is
    left to pyFAI's own config (which carries both), not moved into a definition file whose
    reading back of them we have not checked."""
    return (_is_generic(detector) and _plain(detector) and _has_gaps(detector)
            and registry_equivalent(detector) is None)


def definition_path(poni_path) -> Path:
    """``calib.poni`` -> ``calib.detector.h5`` (versions ``calib.detector.vK.h5``)."""
    p = Path(poni_path)
    return p.with_name(p.stem + DEFINITION_SUFFIX)


def keep_gaps_beside(detector, poni_path, command: str = ""):
    """The detector to write into the PONI at ``poni_path``, writing its definition beside first
    when the PONI could not name it otherwise (versioned, by the one writer).

    Returns a ``NexusDetector`` reading the definition's version (an immutable file: a later
    calibration never changes what an earlier PONI means), or :func:`poni_detector`'s answer.
    """
    if not needs_definition(detector):
        return poni_detector(detector)
    import pyFAI.detectors

    from calterm.core.io.writer import write_output

    def save(tmp: Path) -> None:
        detector.save(str(tmp))  # pyFAI's NeXus detector file: pixel size, shape, mask, orientation

    version = write_output(definition_path(poni_path), save, command=command,
                           inputs={"poni": str(poni_path), "masked_pixels": int(np.asarray(detector.mask).sum())})
    nexus = pyFAI.detectors.NexusDetector(str(Path(version).resolve()))
    nexus.sensor = copy.deepcopy(getattr(detector, "sensor", None))
    return _copy_marks(detector, nexus)
