"""The PONI parameter model, its constraints, and the conversions users read (Fit2D, beam centre).

One explicit model: dist, poni1, poni2 (m), rot1, rot2, rot3 (rad), wavelength (m), exactly
pyFAI's PONI convention, so a PONI file written from it is read back by ``pyFAI.load`` unchanged.
Pixel coordinates in calterm are x = column, y = row, integers at pixel centres; pyFAI's
``tth(d1, d2)`` takes (row, column) in the same convention.

Orientation (PONI 2.1): a detector's ``orientation`` (1-4, pyFAI's default 3) says where pixel
(0, 0) of the image sits on the detector; poni1/poni2 and Fit2D's centre are in the detector's
own frame, the image's pixel indices are not. pyFAI's 2θ arrays honour the orientation, its Fit2D
conversion (``getFit2D``/``setFit2D``) does not, so every conversion between a pixel position of
the image and the PONI goes through :func:`image_pixel` here (the beam centre, a start geometry
from a clicked centre), never through Fit2D's numbers alone.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from calterm.errors import InputError

# numpy is imported in the functions that compute: the app's first screen imports this module and
# shows before numpy (~0.1 s) is loaded
if TYPE_CHECKING:
    import numpy as np

PARAMS = ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength")
DEFAULT_FIXED = frozenset({"rot3", "wavelength"})


@dataclass(frozen=True)
class PoniGeometry:
    """Detector geometry in PONI units: metres and radians."""

    dist: float
    poni1: float
    poni2: float
    rot1: float = 0.0
    rot2: float = 0.0
    rot3: float = 0.0
    wavelength: float = 1e-10

    def as_vector(self, names=PARAMS) -> np.ndarray:
        import numpy as np

        return np.array([getattr(self, n) for n in names], dtype=float)

    def with_vector(self, names, values) -> PoniGeometry:
        return replace(self, **{n: float(v) for n, v in zip(names, values, strict=True)})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def to_pyfai(self, detector):
        """A pyFAI AzimuthalIntegrator for this geometry on ``detector``."""
        from pyFAI.integrator.azimuthal import AzimuthalIntegrator

        from calterm.core.common.sensor import enable_parallax

        return enable_parallax(AzimuthalIntegrator(
            dist=self.dist, poni1=self.poni1, poni2=self.poni2, rot1=self.rot1, rot2=self.rot2,
            rot3=self.rot3, detector=detector, wavelength=self.wavelength,
        ))  # parallax on only for a detector given a sensor by the user (core.common.sensor)

    @classmethod
    def from_pyfai(cls, geo) -> PoniGeometry:
        return cls(geo.dist, geo.poni1, geo.poni2, geo.rot1, geo.rot2, geo.rot3, geo.wavelength)

    def fit2d(self, detector) -> dict[str, float]:
        """Fit2D terms: direct distance (mm), beam centre (Fit2D pixels), tilt and its plane (deg)."""
        f = self.to_pyfai(detector).getFit2D()
        return {k: float(f[k]) for k in ("directDist", "centerX", "centerY", "tilt", "tiltPlanRotation")}

    def beam_center_px(self, detector) -> tuple[float, float]:
        """Where the direct beam hits, as (x, y) in calterm pixels of the image: Fit2D's centre
        minus half a pixel (in the detector's frame), then mapped by the detector's orientation."""
        return image_pixel(detector, fit2d_center_px(self.fit2d(detector)))

    def tth(self, detector, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return tth_at(self.to_pyfai(detector), rows, cols, self.as_vector()[:6])


def tth_at(pyfai_geo, rows: np.ndarray, cols: np.ndarray, param) -> np.ndarray:
    """2θ (rad) at pixel (row, col) for PONI parameters ``param`` (dist, poni1, poni2, rot1-3).

    pyFAI places the pixels and rotates them (``calc_pos_zyx``); we take its numpy path and the
    arctangent ourselves because its compiled path costs a fixed ~10 ms per call when the detector
    hands it an ``Orientation`` enum (measured with pyFAI 2026.9: 12 ms against 0.03 ms for 2400
    points, identical results to 2e-16 rad) and a refinement makes hundreds of such calls.
    """
    import numpy as np

    t3, t1, t2 = pyfai_geo.calc_pos_zyx(d1=np.asarray(rows, float), d2=np.asarray(cols, float),
                                        param=[float(v) for v in param], use_cython=False,
                                        do_parallax=True)  # a no-op unless the geometry models parallax
    return np.arctan2(np.sqrt(t1 * t1 + t2 * t2), t3)


def orientation_of(detector) -> int:
    """The detector's PONI 2.1 orientation, 1-4 (pyFAI's default 3 when it states none)."""
    value = int(getattr(detector, "orientation", 0) or 0)
    return value if value in (1, 2, 3, 4) else 3


def index_flips(detector) -> tuple[bool, bool]:
    """(rows reversed, columns reversed): whether the detector frame runs against the image's
    row and column indices. Read from pyFAI's own pixel positions (``calc_cartesian_positions``)
    rather than a table of orientations, so it follows pyFAI's definition of each one."""
    import numpy as np

    if orientation_of(detector) == 3:
        return False, False
    p1, p2, _ = detector.calc_cartesian_positions(d1=np.array([0.0, 1.0, 0.0]), d2=np.array([0.0, 0.0, 1.0]))
    return bool(p1[1] < p1[0]), bool(p2[2] < p2[0])


def image_pixel(detector, xy: tuple[float, float]) -> tuple[float, float]:
    """A pixel position (x, y) in the detector's frame as (x, y) in the image, or back (the map is
    its own inverse): a reversed axis of n pixels maps i to n - 1 - i."""
    flip_rows, flip_cols = index_flips(detector)
    if not (flip_rows or flip_cols):
        return (float(xy[0]), float(xy[1]))
    if detector.shape is None:
        raise InputError(f"detector orientation {orientation_of(detector)} needs the detector's shape")
    rows, cols = (int(n) for n in detector.shape)
    x, y = float(xy[0]), float(xy[1])
    return (cols - 1 - x if flip_cols else x, rows - 1 - y if flip_rows else y)


def geometry_from_center(
    detector, distance_m: float, center_xy: tuple[float, float], wavelength_m: float
) -> PoniGeometry:
    """An untilted geometry with the beam at image pixel ``center_xy`` (x = column, y = row),
    whatever the detector's orientation."""
    x, y = image_pixel(detector, center_xy)
    p1, p2 = detector.pixel1, detector.pixel2
    return PoniGeometry(distance_m, (y + 0.5) * p1, (x + 0.5) * p2, 0.0, 0.0, 0.0, wavelength_m)


def fit2d_center_px(fit2d: dict[str, float]) -> tuple[float, float]:
    """Fit2D's beam centre (``centerX``, ``centerY``: pixel edges at integers) as (x, y) in calterm
    pixels (pixel centres at integers): half a pixel less. The one place this conversion is made."""
    return (fit2d["centerX"] - 0.5, fit2d["centerY"] - 0.5)


def geometry_from_fit2d(detector, fit2d: dict[str, float], wavelength_m: float) -> PoniGeometry:
    from pyFAI.geometry import Geometry

    g = Geometry(detector=detector, wavelength=wavelength_m)
    g.setFit2D(fit2d["directDist"], fit2d["centerX"], fit2d["centerY"], fit2d.get("tilt", 0.0),
               fit2d.get("tiltPlanRotation", 0.0))
    return PoniGeometry.from_pyfai(g)


@dataclass(frozen=True)
class Constraints:
    """Which parameters are free, and the bounds of each (None = unbounded)."""

    fixed: frozenset[str] = DEFAULT_FIXED
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = (set(self.fixed) | set(self.bounds)) - set(PARAMS)
        if unknown:
            raise InputError(f"unknown geometry parameter(s): {', '.join(sorted(unknown))} (use {', '.join(PARAMS)})")
        for name, (lo, hi) in self.bounds.items():
            if not lo < hi:
                raise InputError(f"bounds for {name} must have low < high, not ({lo}, {hi})")

    @property
    def free(self) -> tuple[str, ...]:
        return tuple(p for p in PARAMS if p not in self.fixed)

    def with_fixed(self, fix=(), free=()) -> Constraints:
        return replace(self, fixed=frozenset((set(self.fixed) | set(fix)) - set(free)))

    def lower_upper(self, names) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        lo = np.array([self.bounds.get(n, (-np.inf, np.inf))[0] for n in names], dtype=float)
        hi = np.array([self.bounds.get(n, (-np.inf, np.inf))[1] for n in names], dtype=float)
        return lo, hi


def poni_text(geometry: PoniGeometry, detector, calibrant: str | None = None, image: str | None = None,
              comments: list[str] | None = None) -> str:
    """The PONI file text, written by pyFAI's own writer so ``pyFAI.load`` reads it exactly;
    our comments follow as ``#`` lines.

    A generic detector that is a registry detector binned by a factor pyFAI can rebuild is written
    under the registry's name, so pyFAI readers keep its gaps (``core.common.poni_detectors``; for
    the other binned or rotated ones, ``keep_gaps_beside`` writes a detector definition first).
    """
    from pyFAI.io.ponifile import PoniFile

    from calterm.core.common.poni_detectors import poni_detector

    ai = geometry.to_pyfai(poni_detector(detector))
    buf = io.StringIO()
    poni = PoniFile(ai)
    poni.extra.update({k: v for k, v in (("Calibrant", calibrant), ("Image", image)) if v})
    poni.write(buf)
    text = buf.getvalue()
    if comments:
        text += "".join(f"# {line}\n" for line in comments)
    return text


def load_poni(path: str) -> tuple[PoniGeometry, object]:
    """Read a PONI file (any version pyFAI reads): the geometry and pyFAI's detector."""
    import pyFAI

    try:
        ai = pyFAI.load(str(path))
    except Exception as exc:
        raise InputError(f"{path}: not a PONI file pyFAI can read ({exc})") from exc
    if ai.wavelength is None:
        raise InputError(f"{path}: PONI file has no wavelength")
    if ai.parallax:
        from calterm.core.common.sensor import mark_parallax

        mark_parallax(ai.detector)  # its geometries model parallax too, as the PONI says
    if getattr(ai.detector, "spline", None) is not None:
        from calterm.core.common.spline_detector import pointwise

        pointwise(ai.detector)  # pyFAI's spline at a list of N points costs N x N (see pointwise)
    return PoniGeometry.from_pyfai(ai), ai.detector


def max_tth_error_deg(a: PoniGeometry, b: PoniGeometry, detector, shape, step: int = 8) -> float:
    """Largest |2θ_a − 2θ_b| over the detector (sampled every ``step`` pixels), in degrees."""
    import numpy as np

    rows, cols = np.mgrid[0 : shape[0] : step, 0 : shape[1] : step]
    ta = a.tth(detector, rows.ravel(), cols.ravel())
    tb = b.tth(detector, rows.ravel(), cols.ravel())
    return float(np.max(np.abs(ta - tb)) * 180 / math.pi)
