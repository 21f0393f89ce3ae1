"""From a fitted ring to a calibration: scale, sample-detector distance, d-spacing at any radius.

Exact Bragg geometry on a flat detector normal to the beam: ``2θ = 2 asin(λ / 2d)`` and
``r = D tan 2θ``. The small-angle form (``r ≈ D λ / d``) is off by 0.1 % already at 2θ = 3° —
a tenth of a pixel at a radius of 100 px — so it is used nowhere here except in the *scale*, which
is by definition the linear (small-angle) conversion MuscleX users expect: ``1/d`` per pixel of
radius, ``1 / (d r)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from calterm.errors import InputError


def ring_d_spacing_nm(d_spacing_nm: float | None = None, calibrant: str | None = None, order: int = 1) -> float:
    """The ring's d-spacing in nm: given directly, or ring ``order`` of a calibrant (1 = largest d).

    For silver behenate (pyFAI's ``AgBh``) ring N is the N-th order of d(001) = 5.838 nm.
    """
    if (d_spacing_nm is None) == (calibrant is None):
        raise InputError("give either a d-spacing or a calibrant (not both)")
    if d_spacing_nm is not None:
        if not (math.isfinite(d_spacing_nm) and d_spacing_nm > 0):
            raise InputError(f"d-spacing must be a positive number of nm, not {d_spacing_nm}")
        return float(d_spacing_nm)
    from calterm.core.common.calibrants import load_calibrant

    cal = load_calibrant(calibrant)
    if not 1 <= order <= len(cal.d_spacings_A):
        raise InputError(f"calibrant {cal.name} has rings 1..{len(cal.d_spacings_A)}, not {order}")
    return cal.d_spacings_A[order - 1] / 10.0


def two_theta_rad(d_spacing_nm: float, wavelength_A: float) -> float:
    """Bragg angle 2θ of a d-spacing; InputError beyond backscattering."""
    s = wavelength_A / (20.0 * d_spacing_nm)
    if not 0 < s < 1:
        raise InputError(f"no ring: wavelength {wavelength_A} Å is too long for d = {d_spacing_nm} nm")
    return 2.0 * math.asin(s)


def distance_mm(radius_px: float, d_spacing_nm: float, wavelength_A: float, pixel_size_um: float) -> float:
    """Sample-detector distance that puts d-spacing ``d`` at ``radius_px``: ``D = r p / tan 2θ``."""
    tth = two_theta_rad(d_spacing_nm, wavelength_A)
    if tth >= math.pi / 2:
        raise InputError("the ring is at 2θ >= 90°: it cannot be on a flat detector normal to the beam")
    return radius_px * pixel_size_um * 1e-3 / math.tan(tth)


def d_spacing_at_radius_nm(radius_px: float, wavelength_A: float, distance_mm_: float, pixel_size_um: float) -> float:
    """Calibration by parameters: the d-spacing seen at ``radius_px`` (exact, ``d = λ / 2 sin θ``)."""
    if not (radius_px > 0 and wavelength_A > 0 and distance_mm_ > 0 and pixel_size_um > 0):
        raise InputError("radius, wavelength, distance and pixel size must be positive")
    tth = math.atan(radius_px * pixel_size_um * 1e-3 / distance_mm_)
    return wavelength_A / (2.0 * math.sin(tth / 2)) / 10.0


def radius_px_for_d(d_spacing_nm: float, wavelength_A: float, distance_mm_: float, pixel_size_um: float) -> float:
    """Where a d-spacing's ring falls, in pixels from the beam centre (inverse of the above)."""
    return distance_mm_ * math.tan(two_theta_rad(d_spacing_nm, wavelength_A)) / (pixel_size_um * 1e-3)


@dataclass(frozen=True)
class RingCalibration:
    """What a ring of known d-spacing (or a known distance) calibrates."""

    radius_px: float
    d_spacing_nm: float
    scale_inv_nm_per_px: float  # 1/d per pixel of radius (small-angle, MuscleX's scale): 1 / (d r)
    q_per_px_inv_nm: float  # q = 2π/d per pixel: 2π / (d r)
    wavelength_A: float | None = None
    pixel_size_um: float | None = None
    two_theta_deg: float | None = None
    distance_mm: float | None = None
    distance_se_mm: float | None = None
    source: str = "d-spacing"  # or "parameters" (wavelength, distance and pixel size given)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def calibrate_ring(radius_px: float, d_spacing_nm: float, wavelength_A: float | None = None,
                   pixel_size_um: float | None = None, radius_se_px: float | None = None) -> RingCalibration:
    """Scale from the ring's d-spacing; with wavelength and pixel size, the distance too."""
    scale = 1.0 / (d_spacing_nm * radius_px)
    dist = dist_se = tth = None
    if wavelength_A is not None and pixel_size_um is not None:
        tth = math.degrees(two_theta_rad(d_spacing_nm, wavelength_A))
        dist = distance_mm(radius_px, d_spacing_nm, wavelength_A, pixel_size_um)
        if radius_se_px is not None and math.isfinite(radius_se_px):
            dist_se = dist * radius_se_px / radius_px  # D is proportional to r
    return RingCalibration(radius_px, d_spacing_nm, scale, 2 * math.pi * scale, wavelength_A, pixel_size_um,
                           tth, dist, dist_se)


def calibrate_by_parameters(radius_px: float, wavelength_A: float, distance_mm_: float,
                            pixel_size_um: float) -> RingCalibration:
    """No d-spacing known: wavelength, distance and pixel size say what the ring's d-spacing is."""
    d = d_spacing_at_radius_nm(radius_px, wavelength_A, distance_mm_, pixel_size_um)
    tth = math.degrees(math.atan(radius_px * pixel_size_um * 1e-3 / distance_mm_))
    scale = 1.0 / (d * radius_px)
    return RingCalibration(radius_px, d, scale, 2 * math.pi * scale, wavelength_A, pixel_size_um, tth,
                           distance_mm_, None, "parameters")


def ring_calibration_for_image(radius_px: float, radius_se_px: float | None, image_path: str, shape: tuple[int, int],
                               calibrant: str, *, order: int = 1, frame: int = 0, wavelength_A: float | None = None,
                               detector: str | None = None, pixel_size_um: float | None = None) -> dict | None:
    """The app's single-ring calibration: ring ``order`` of ``calibrant`` at ``radius_px`` gives the
    distance, with the pixel size of the detector chosen for the image (typed, else as its header
    says: :mod:`calterm.core.io.headers`) and ``wavelength_A`` (else the header's). None when no
    pixel size or wavelength is known: the fit then stays in pixels. ``shape`` is the image as
    stored. The answer says which facts came from the header."""
    from calterm.core.common.detectors import resolve_detector
    from calterm.core.io.headers import header_facts

    facts = header_facts(image_path, frame)
    try:
        choice = resolve_detector(shape, detector, pixel_size_um, header=facts)
    except InputError:
        return None
    from_header: dict = {}
    if wavelength_A is None and facts.wavelength_A is not None:
        wavelength_A = facts.wavelength_A
        from_header["wavelength_A"] = facts.wavelength_A
    if wavelength_A is None:
        return None
    if choice.reason in ("pixel size from header", "its pixel size is the header's", "the file header names it"):
        from_header["pixel_size_um"] = list(choice.pixel_size_um)
    p1, p2 = choice.pixel_size_um
    d = ring_d_spacing_nm(None, calibrant, order)
    doc = calibrate_ring(radius_px, d, wavelength_A, math.sqrt(p1 * p2), radius_se_px).as_dict()
    doc.update(calibrant=calibrant, order=order, detector=choice.as_dict(), from_header=from_header)
    if facts.distance_mm is not None:
        doc["header_distance_mm"] = facts.distance_mm
    return doc
