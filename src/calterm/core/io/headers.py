"""What an image file's header says about the experiment: pixel size, wavelength, distance, beam
centre and detector name, where the format carries them.

These become *start values* (and a hint for the detector choice), never truth: a header written by
another setup, a centre in another convention, a distance read off a motor are all common, so every
fact here is overridable by what the user types and the calibration's verdict still judges the fit.

Formats read (the keys each format's own software writes):

- mar345 / mar1200 (fabio ``Mar345Image``): ``PixelLength``/``PixelHeight`` (mm), ``Wavelength`` (Å),
  ``Distance`` (mm), ``CENTER_X``/``CENTER_Y`` (pixels).
- ADSC / SMV (``AdscImage``, and ADSC-style headers read as ``DtrekImage``): ``PIXEL_SIZE`` (mm),
  ``WAVELENGTH`` (Å), ``DISTANCE`` (mm), ``BEAM_CENTER_X``/``BEAM_CENTER_Y`` (mm). ADSC's
  ``BEAM_CENTER_X`` runs along the slow axis (rows) and ``BEAM_CENTER_Y`` along the fast one
  (columns), as XDS and DIALS read them.
- miniCBF (Pilatus, Eiger; ``_array_data.header_contents``): ``# Pixel_size 172e-6 m x 172e-6 m``,
  ``# Wavelength 1.0 A``, ``# Detector_distance 0.2 m``, ``# Beam_xy (x, y) pixels``,
  ``# Detector: PILATUS 1M, S/N ...``.
- Eiger / NeXus HDF5 (h5py): ``/entry/instrument/detector/{x_pixel_size, y_pixel_size,
  beam_center_x, beam_center_y, detector_distance, description}`` and
  ``/entry/instrument/beam/incident_wavelength`` (or ``monochromator/wavelength``, or
  ``detectorSpecific/photon_energy``), units from each dataset's ``@units`` (DECTRIS' defaults: m,
  pixels, Å, eV).
- EDF (ESRF SAXS keys): ``PSize_1``/``PSize_2`` (m), ``SampleDistance`` (m), ``WaveLength`` (m),
  ``Center_1``/``Center_2`` (pixels, 1 = columns), ``DetectorName``/``Detector``.

SPE and plain TIFF carry none of these: their facts are empty. Coordinates follow calterm's
convention: x = column, y = row, origin at the centre of pixel (0, 0), of the image *as stored*;
:func:`oriented_facts` maps them to the image after ``--rotate``/``--flip``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

FACTS = ("pixel_size_um", "wavelength_A", "distance_mm", "center_xy", "detector")


@dataclass(frozen=True)
class HeaderFacts:
    """The facts a header gave (None: not there), the format they came from, and for each fact
    the header key(s) it was read from (shown to the user as "from header")."""

    pixel_size_um: tuple[float, float] | None = None  # (rows / slow axis, columns / fast axis)
    wavelength_A: float | None = None
    distance_mm: float | None = None
    center_xy: tuple[float, float] | None = None  # pixels: x = column, y = row
    detector: str | None = None  # the name the file gives (not necessarily pyFAI's)
    source: str = ""  # "mar345", "ADSC", "miniCBF", "NeXus", "EDF" or "" (nothing read)
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> tuple[str, ...]:
        """The names of the facts present."""
        return tuple(f for f in FACTS if getattr(self, f) is not None)

    @property
    def pixel_um(self) -> float | None:
        """Geometric mean pixel size (µm): the radial scale of a ring."""
        if self.pixel_size_um is None:
            return None
        return math.sqrt(self.pixel_size_um[0] * self.pixel_size_um[1])

    def as_dict(self) -> dict:
        """The ``from_header`` block of the JSON documents (only the facts present)."""
        out: dict = {f: (list(v) if isinstance(v, tuple) else v) for f in self.found
                     for v in [getattr(self, f)]}
        if out:
            out["format"] = self.source
            out["keys"] = dict(self.keys)
        return out


def _num(value) -> float | None:
    """A finite float from a header value (text or number), else None."""
    try:
        x = float(str(value).strip().split()[0])
    except (ValueError, IndexError, TypeError):
        return None
    return x if math.isfinite(x) else None


def _positive(value) -> float | None:
    x = _num(value)
    return x if x is not None and x > 0 else None


def _finite_pair(a, b) -> tuple[float, float] | None:
    x, y = _num(a), _num(b)
    return None if x is None or y is None else (x, y)


def _get(header: dict, *names: str):
    """The first of ``names`` in ``header`` (case-insensitive), with the key found."""
    lower = {str(k).lower(): k for k in header}
    for name in names:
        key = lower.get(name.lower())
        if key is not None and str(header[key]).strip():
            return header[key], str(key)
    return None, None


def header_facts(path: str | os.PathLike, frame: int = 0) -> HeaderFacts:
    """The facts of the file at ``path`` (``FILE.h5::/dataset`` allowed). A header that cannot be
    read gives empty facts: the image reader reports unreadable files, this only adds hints."""
    file = str(path).split("::", 1)[0]
    suffix = Path(file).suffix.lower()
    try:
        from calterm.core.io.images import HDF5_SUFFIXES, TIFF_SUFFIXES

        if suffix in HDF5_SUFFIXES:
            return _nexus_facts(file)
        if suffix in TIFF_SUFFIXES or suffix == ".npy":
            return HeaderFacts()
        import fabio

        header = fabio.openheader(file).header
        return facts_from_header(dict(header))
    except Exception:  # noqa: BLE001  (a corrupt header is no fact; the image read says what is wrong)
        return HeaderFacts()


def facts_from_header(header: dict) -> HeaderFacts:
    """The facts of a fabio header dictionary, whichever of the known layouts it follows."""
    cbf, _ = _get(header, "_array_data.header_contents")
    if cbf is not None:
        return _minicbf_facts(str(cbf))
    if _get(header, "PixelLength", "PIXEL_LENGTH")[0] is not None:
        return _mar345_facts(header)
    if _get(header, "PIXEL_SIZE")[0] is not None or _get(header, "BEAM_CENTER_X")[0] is not None:
        return _adsc_facts(header)
    if _get(header, "PSize_1", "SampleDistance", "WaveLength", "Center_1")[0] is not None:
        return _edf_facts(header)
    return HeaderFacts()


def _mar345_facts(h: dict) -> HeaderFacts:
    keys: dict[str, str] = {}
    facts: dict = {}
    length, k1 = _get(h, "PixelLength")
    height, k2 = _get(h, "PixelHeight")
    if length is None:  # the text block's keys, in µm
        length, k1 = _get(h, "PIXEL_LENGTH")
        height, k2 = _get(h, "PIXEL_HEIGHT")
        scale = 1.0
    else:
        scale = 1000.0  # fabio's PixelLength/PixelHeight: mm
    p_col, p_row = _positive(length), _positive(height) or _positive(length)
    if p_col is not None and p_row is not None:
        facts["pixel_size_um"] = (p_row * scale, p_col * scale)
        keys["pixel_size_um"] = f"{k1}/{k2}" if k2 else str(k1)
    value, key = _get(h, "Wavelength", "WAVELENGTH")
    if _positive(value):
        facts["wavelength_A"], keys["wavelength_A"] = _positive(value), key
    value, key = _get(h, "Distance", "DISTANCE")
    if _positive(value):
        facts["distance_mm"], keys["distance_mm"] = _positive(value), key
    cx, kx = _get(h, "CENTER_X")
    cy, _ = _get(h, "CENTER_Y")
    centre = _finite_pair(cx, cy)
    if centre is not None:
        facts["center_xy"], keys["center_xy"] = centre, "CENTER_X/CENTER_Y"
    return HeaderFacts(**facts, detector="mar345" if facts else None, source="mar345", keys=keys)


def _adsc_facts(h: dict) -> HeaderFacts:
    keys: dict[str, str] = {}
    facts: dict = {}
    pixel_mm, key = _get(h, "PIXEL_SIZE")
    pixel_mm = _positive(pixel_mm)
    if pixel_mm is not None:
        facts["pixel_size_um"], keys["pixel_size_um"] = (pixel_mm * 1e3, pixel_mm * 1e3), key
    value, key = _get(h, "WAVELENGTH")
    if _positive(value):
        facts["wavelength_A"], keys["wavelength_A"] = _positive(value), key
    value, key = _get(h, "DISTANCE")
    if _positive(value):
        facts["distance_mm"], keys["distance_mm"] = _positive(value), key
    bx, _ = _get(h, "BEAM_CENTER_X")
    by, _ = _get(h, "BEAM_CENTER_Y")
    centre_mm = _finite_pair(bx, by)
    if centre_mm is not None and pixel_mm is not None:
        # ADSC: BEAM_CENTER_X is along the slow axis (rows), BEAM_CENTER_Y along the fast one
        facts["center_xy"] = (centre_mm[1] / pixel_mm, centre_mm[0] / pixel_mm)
        keys["center_xy"] = "BEAM_CENTER_Y/BEAM_CENTER_X (mm)"
    name, _ = _get(h, "DETECTOR_TYPE", "DETECTOR")
    return HeaderFacts(**facts, detector=str(name).strip() if name else None, source="ADSC", keys=keys)


# miniCBF lines: each pattern anchored on its keyword, no nested quantifiers (linear time)
_CBF_NUMBER = r"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)"
_CBF = {
    "pixel": re.compile(rf"#\s*Pixel_size\s+{_CBF_NUMBER}\s*m\s*x\s*{_CBF_NUMBER}\s*m", re.I),
    "wavelength": re.compile(rf"#\s*Wavelength\s+{_CBF_NUMBER}\s*A", re.I),
    "distance": re.compile(rf"#\s*Detector_distance\s+{_CBF_NUMBER}\s*m\b", re.I),
    "beam": re.compile(rf"#\s*Beam_xy\s*\(\s*{_CBF_NUMBER}\s*,\s*{_CBF_NUMBER}\s*\)\s*pixels", re.I),
    "detector": re.compile(r"#\s*Detector:\s*([^,\r\n]+)", re.I),
}


def _minicbf_facts(text: str) -> HeaderFacts:
    """A Pilatus/Eiger miniCBF header block (SI units: m; Beam_xy in pixels, x = fast = column)."""
    facts: dict = {}
    keys: dict[str, str] = {}
    if m := _CBF["pixel"].search(text):
        px, py = float(m.group(1)) * 1e6, float(m.group(2)) * 1e6  # "x by y": fast (columns) first
        if px > 0 and py > 0:
            facts["pixel_size_um"], keys["pixel_size_um"] = (py, px), "Pixel_size"
    if (m := _CBF["wavelength"].search(text)) and float(m.group(1)) > 0:
        facts["wavelength_A"], keys["wavelength_A"] = float(m.group(1)), "Wavelength"
    if (m := _CBF["distance"].search(text)) and float(m.group(1)) > 0:
        facts["distance_mm"], keys["distance_mm"] = float(m.group(1)) * 1e3, "Detector_distance"
    if m := _CBF["beam"].search(text):
        facts["center_xy"], keys["center_xy"] = (float(m.group(1)), float(m.group(2))), "Beam_xy"
    if m := _CBF["detector"].search(text):
        facts["detector"], keys["detector"] = m.group(1).strip(), "Detector"
    return HeaderFacts(**facts, source="miniCBF", keys=keys)


def _edf_facts(h: dict) -> HeaderFacts:
    facts: dict = {}
    keys: dict[str, str] = {}
    p1, _ = _get(h, "PSize_1")
    p2, _ = _get(h, "PSize_2")
    p1, p2 = _positive(p1), _positive(p2) or _positive(p1)
    if p1 is not None and p2 is not None:  # PSize_1 is along dim 1 (columns)
        facts["pixel_size_um"], keys["pixel_size_um"] = (p2 * 1e6, p1 * 1e6), "PSize_1/PSize_2"
    value, key = _get(h, "WaveLength")
    if _positive(value):
        facts["wavelength_A"], keys["wavelength_A"] = _positive(value) * 1e10, key
    value, key = _get(h, "SampleDistance")
    if _positive(value):
        facts["distance_mm"], keys["distance_mm"] = _positive(value) * 1e3, key
    c1, _ = _get(h, "Center_1")
    c2, _ = _get(h, "Center_2")
    centre = _finite_pair(c1, c2)
    if centre is not None:
        facts["center_xy"], keys["center_xy"] = centre, "Center_1/Center_2"
    name, key = _get(h, "DetectorName", "Detector")
    if name:
        facts["detector"], keys["detector"] = str(name).strip(), key
    return HeaderFacts(**facts, source="EDF", keys=keys)


_LENGTH_TO_M = {"m": 1.0, "meter": 1.0, "metre": 1.0, "mm": 1e-3, "millimeter": 1e-3, "um": 1e-6, "µm": 1e-6,
                "micron": 1e-6, "microns": 1e-6, "micrometer": 1e-6, "nm": 1e-9, "cm": 1e-2}
_WAVELENGTH_TO_A = {"a": 1.0, "å": 1.0, "angstrom": 1.0, "angstroms": 1.0, "nm": 10.0, "m": 1e10}
_ENERGY_TO_KEV = {"ev": 1e-3, "kev": 1.0}


def _nexus_value(h5, path: str, units: dict[str, float], default_unit: str) -> float | None:
    """A scalar dataset converted by its ``@units`` (DECTRIS' default unit when it has none)."""
    import h5py

    obj = h5.get(path)
    if not isinstance(obj, h5py.Dataset) or obj.size != 1:
        return None
    value = _num(obj[()].item() if hasattr(obj[()], "item") else obj[()])
    if value is None:
        return None
    unit = obj.attrs.get("units", default_unit)
    unit = (unit.decode() if isinstance(unit, bytes) else str(unit)).strip().lower()
    factor = units.get(unit)
    return None if factor is None else value * factor


def _nexus_facts(file: str) -> HeaderFacts:
    """Eiger master / NeXus NXdetector fields under /entry/instrument."""
    import h5py

    facts: dict = {}
    keys: dict[str, str] = {}
    det = "entry/instrument/detector/"
    with h5py.File(file, "r") as h5:
        px = _nexus_value(h5, det + "x_pixel_size", _LENGTH_TO_M, "m")
        py = _nexus_value(h5, det + "y_pixel_size", _LENGTH_TO_M, "m")
        if px and py and px > 0 and py > 0:
            facts["pixel_size_um"], keys["pixel_size_um"] = (py * 1e6, px * 1e6), det + "x_pixel_size"
        dist = _nexus_value(h5, det + "detector_distance", _LENGTH_TO_M, "m")
        if dist and dist > 0:
            facts["distance_mm"], keys["distance_mm"] = dist * 1e3, det + "detector_distance"
        bx = _nexus_value(h5, det + "beam_center_x", {"pixel": 1.0, "pixels": 1.0}, "pixel")
        by = _nexus_value(h5, det + "beam_center_y", {"pixel": 1.0, "pixels": 1.0}, "pixel")
        if bx is not None and by is not None:
            facts["center_xy"], keys["center_xy"] = (bx, by), det + "beam_center_x"
        for path in ("entry/instrument/beam/incident_wavelength", "entry/instrument/monochromator/wavelength"):
            wl = _nexus_value(h5, path, _WAVELENGTH_TO_A, "angstrom")
            if wl and wl > 0:
                facts["wavelength_A"], keys["wavelength_A"] = wl, "/" + path
                break
        else:
            energy = _nexus_value(h5, det + "detectorSpecific/photon_energy", _ENERGY_TO_KEV, "ev")
            if energy and energy > 0:
                facts["wavelength_A"], keys["wavelength_A"] = 12.398419843320026 / energy, det + "detectorSpecific/photon_energy"
        name = h5.get(det + "description")
        if isinstance(name, h5py.Dataset):
            text = name[()]
            text = text.decode() if isinstance(text, bytes) else str(text)
            if text.strip():
                facts["detector"], keys["detector"] = text.strip(), det + "description"
    return HeaderFacts(**facts, source="NeXus" if facts else "", keys=keys)


def oriented_facts(facts: HeaderFacts, shape: tuple[int, int], rotate: int = 0, flip: str | None = None) -> HeaderFacts:
    """The facts of the image after :func:`calterm.core.io.images.orient` (``shape`` is the image
    as stored): the centre moves with the pixels, the pixel sizes swap for 90°/270°."""
    k = (rotate // 90) % 4
    if not k and not flip:
        return facts
    rows, cols = shape
    centre, pixel = facts.center_xy, facts.pixel_size_um
    for _ in range(k):  # np.rot90 once: (row r, column c) -> (row cols-1-c, column r)
        if centre is not None:
            centre = (centre[1], cols - 1 - centre[0])
        if pixel is not None:
            pixel = (pixel[1], pixel[0])
        rows, cols = cols, rows
    if centre is not None and flip == "h":
        centre = (cols - 1 - centre[0], centre[1])
    elif centre is not None and flip == "v":
        centre = (centre[0], rows - 1 - centre[1])
    return replace(facts, center_xy=centre, pixel_size_um=pixel)
