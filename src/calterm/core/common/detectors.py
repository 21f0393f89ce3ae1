"""Detectors from pyFAI's registry: by name, by image shape, or generic with a given pixel size.

pyFAI knows each detector's shape, pixel size and module gaps; we only choose. When several
registered detectors share the image's shape, the one the file's header names wins, then one whose
pixel size the header states, then the simplest name (``Pilatus1M`` before ``PilatusCdTe1M``); the
choice always says which were candidates and why it was taken (``how``), never silently: an
Eiger2_250k image (75 µm) and a HF_262k one (150 µm) have the same shape, and the wrong one halves
every distance. No registry detector of the shape: a generic one at the typed pixel size, else at
the header's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.errors import InputError


@dataclass(frozen=True)
class DetectorChoice:
    """The detector used, and how it was chosen (shown to the user)."""

    detector: object  # pyFAI.detectors.Detector
    name: str
    how: str  # "named", "by shape", "generic"
    alternatives: tuple[str, ...] = ()
    reason: str = ""  # why this one: "the file header names it", "pixel size from header", ...

    @property
    def pixel_size_um(self) -> tuple[float, float]:
        return (self.detector.pixel1 * 1e6, self.detector.pixel2 * 1e6)

    @property
    def candidates(self) -> tuple[str, ...]:
        """Every registry detector that had the image's shape (the one taken first)."""
        return (self.name, *self.alternatives) if self.how == "by shape" else ()

    def as_dict(self) -> dict:
        """The ``detector`` block of the JSON documents."""
        return {"name": self.name, "how": self.how, "reason": self.reason,
                "pixel_size_um": list(self.pixel_size_um), "candidates": list(self.candidates)}

    def describe(self) -> str:
        """One line for the CLI's text and the app: the choice, how, and the others of that shape."""
        p1, p2 = self.pixel_size_um
        size = f"{p1:g} µm" if abs(p1 - p2) < 1e-9 else f"{p1:g} x {p2:g} µm"
        text = f"{self.name} ({self.how}{'; ' + self.reason if self.reason else ''}, pixel {size})"
        if self.alternatives and self.how == "by shape":
            text += f"; also this shape: {', '.join(self.alternatives)} (--detector NAME to choose)"
        return text


def _squash(name: str) -> str:
    """A detector name compared loosely: ``PILATUS 1M``, ``Pilatus_1M`` and ``pilatus1m`` agree."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _named_by(header_name: str | None, candidates: list[str]) -> str | None:
    """The candidate a header's detector text names (``Dectris EIGER2 Si 250K`` names Eiger2_250k):
    the longest candidate whose squashed name is in the squashed text, the sensor word ignored."""
    if not header_name:
        return None
    text = _squash(header_name).replace("si", "")
    hits = [c for c in candidates if _squash(c).replace("si", "") in text]
    return max(hits, key=len) if hits else None


def registered_names() -> list[str]:
    """Every detector class name in pyFAI's registry (for completion and searchable lists)."""
    import pyFAI.detectors

    return sorted({cls.__name__ for cls in pyFAI.detectors.ALL_DETECTORS.values()})


def names_for_shape(shape: tuple[int, int]) -> list[str]:
    import pyFAI.detectors

    names = {
        cls.__name__
        for cls in pyFAI.detectors.ALL_DETECTORS.values()
        if getattr(cls, "MAX_SHAPE", None) and tuple(cls.MAX_SHAPE) == tuple(shape)
    }
    return sorted(names, key=lambda n: (len(n), n))


def resolve_detector(
    shape: tuple[int, int], name: str | None = None, pixel_size_um: float | tuple[float, float] | None = None,
    header=None,
) -> DetectorChoice:
    """Pick the detector for an image of ``shape``.

    ``name`` selects from pyFAI's registry (case-insensitive); without it the image shape decides
    (``header``, a :class:`calterm.core.io.headers.HeaderFacts`, breaks ties by the detector it names
    or the pixel size it states); failing that, a generic detector with ``pixel_size_um``, else the
    header's pixel size. A pixel size typed with a name overrides the registry's.
    """
    import pyFAI.detectors

    shape = tuple(int(s) for s in shape)
    if pixel_size_um is not None:
        p1, p2 = (pixel_size_um, pixel_size_um) if np.isscalar(pixel_size_um) else pixel_size_um
        if not (np.isfinite(p1) and np.isfinite(p2) and p1 > 0 and p2 > 0):
            raise InputError(f"pixel size must be positive, not {pixel_size_um}")
    if name:
        try:
            det = pyFAI.detectors.detector_factory(name)
        except Exception as exc:
            raise InputError(f"unknown detector {name!r} (see `calterm detectors`)") from exc
        if det.max_shape is not None and tuple(det.shape) != shape:
            binning = _binning(tuple(det.max_shape), shape)
            if binning is None:
                raise InputError(f"detector {name} has shape {tuple(det.shape)}, image has {shape}")
            label = f"{type(det).__name__} (binned {binning[0]}x{binning[1]})"
            det = binned(det, binning)
        else:
            label = type(det).__name__
        if pixel_size_um is not None:
            det = _generic(shape, p1, p2, base=det)
        return DetectorChoice(det, label, "named")
    candidates = names_for_shape(shape)
    if candidates and pixel_size_um is None:
        taken, reason = _by_shape(candidates, header)
        det = pyFAI.detectors.detector_factory(taken)
        return DetectorChoice(det, taken, "by shape", tuple(c for c in candidates if c != taken), reason)
    if pixel_size_um is None:
        header_pixel = getattr(header, "pixel_size_um", None)
        if header_pixel is None:
            raise InputError(
                f"no detector in pyFAI's registry has shape {shape}: give --detector NAME or --pixel-size UM"
            )
        return DetectorChoice(_generic(shape, *header_pixel), "generic", "generic", reason="pixel size from header")
    return DetectorChoice(_generic(shape, p1, p2), "generic", "generic")


def _by_shape(candidates: list[str], header) -> tuple[str, str]:
    """Which of the registry detectors of the image's shape to take, and why (see the module)."""
    import pyFAI.detectors

    if len(candidates) == 1:
        return candidates[0], ""
    named = _named_by(getattr(header, "detector", None), candidates)
    if named is not None:
        return named, "the file header names it"
    pixel = getattr(header, "pixel_size_um", None)
    if pixel is not None:
        for c in candidates:
            det = pyFAI.detectors.detector_factory(c)
            if abs(det.pixel1 * 1e6 - pixel[0]) < 0.01 * pixel[0] and abs(det.pixel2 * 1e6 - pixel[1]) < 0.01 * pixel[1]:
                return c, "its pixel size is the header's"
    return candidates[0], f"first of {len(candidates)} candidates (simplest name)"


def _binning(full: tuple[int, int], shape: tuple[int, int]) -> tuple[int, int] | None:
    """The binning that turns a detector of shape ``full`` into ``shape`` (a partial last bin dropped,
    as detectors and ``numpy`` reshaping do)."""
    b = (full[0] // shape[0], full[1] // shape[1])
    if b[0] >= 1 and b[1] >= 1 and full[0] // b[0] == shape[0] and full[1] // b[1] == shape[1]:
        return b
    return None


def binned(det, binning: tuple[int, int]):
    """A binned copy of ``det`` with its module mask binned too (a bin is masked if any pixel is).

    pyFAI's own ``set_binning`` refuses to bin the mask when the shape is not a multiple of the
    binning (Pilatus1M: 1043x981), so the binned detector is built here from the pixel size and the
    cropped, block-reduced mask.
    """
    import pyFAI.detectors

    b1, b2 = binning
    full = tuple(det.max_shape)
    shape = (full[0] // b1, full[1] // b2)
    current = tuple(getattr(det, "binning", (1, 1)) or (1, 1))  # some detectors ship binned (PerkinElmer)
    p1, p2 = det.pixel1 / current[0], det.pixel2 / current[1]
    new = pyFAI.detectors.Detector(pixel1=p1 * b1, pixel2=p2 * b2, max_shape=shape)
    full_mask = None
    if tuple(current) == (1, 1) and det.mask is not None:
        full_mask = np.asarray(det.mask)
    if full_mask is not None:
        m = full_mask[: shape[0] * b1, : shape[1] * b2] != 0
        new.mask = m.reshape(shape[0], b1, shape[1], b2).any(axis=(1, 3)).astype(np.int8)
    return new


def _generic(shape: tuple[int, int], p1_um: float, p2_um: float, base=None):
    """A flat detector of the given pixel size, keeping a named detector's mask if it has one."""
    import pyFAI.detectors

    det = pyFAI.detectors.Detector(pixel1=p1_um * 1e-6, pixel2=p2_um * 1e-6, max_shape=shape)
    if base is not None and base.mask is not None and base.mask.shape == shape:
        det.mask = np.array(base.mask)
    return det


def mean_pixel_m(detector) -> float:
    """Geometric mean pixel size (m): the radial scale of a ring on a flat detector."""
    return float(np.sqrt(detector.pixel1 * detector.pixel2))


def detector_mask(choice: DetectorChoice, shape: tuple[int, int]) -> np.ndarray:
    """The detector's own mask (module gaps) as bool, True = masked; all False if it has none."""
    mask = choice.detector.mask
    if mask is None or tuple(mask.shape) != tuple(shape):
        return np.zeros(shape, dtype=bool)
    return np.asarray(mask) != 0


def oriented(choice: DetectorChoice, rotate: int = 0, flip: str | None = None) -> DetectorChoice:
    """The detector as seen in the rotated/flipped image: pixel sizes swapped for 90/270 and the
    module mask transformed like the image, so a PONI refers to the image the user calibrated."""
    if not rotate % 360 and not flip:
        return choice
    import pyFAI.detectors

    from calterm.core.io.images import orient

    det = choice.detector
    shape = tuple(det.max_shape) if det.max_shape is not None else tuple(det.shape)
    p1, p2 = det.pixel1, det.pixel2
    if rotate % 180:
        p1, p2 = p2, p1
        shape = shape[::-1]
    new = pyFAI.detectors.Detector(pixel1=p1, pixel2=p2, max_shape=shape)
    if det.mask is not None:
        new.mask = orient(np.asarray(det.mask), rotate, flip).astype(np.int8)
    return DetectorChoice(new, f"{choice.name} (rotated {rotate}°{', flipped ' + flip if flip else ''})",
                          choice.how, choice.alternatives, choice.reason)


def describe_registered(name: str) -> dict:
    """Name, shape (None for a detector of any shape) and pixel size (µm) of a registry detector:
    what ``calterm detectors`` lists, from pyFAI's own class."""
    import pyFAI.detectors

    det = pyFAI.detectors.detector_factory(name)
    shape = list(det.max_shape) if det.max_shape is not None else None
    pixel = None if det.pixel1 is None or det.pixel2 is None else [det.pixel1 * 1e6, det.pixel2 * 1e6]
    return {"name": name, "shape": shape, "pixel_size_um": pixel}  # None: set per file (generic, NeXus)
