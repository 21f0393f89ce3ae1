"""The single-ring screen's scale: a fitted radius and what the user typed -> d-spacing or distance.

Two directions, as ``calterm circle`` has them (:func:`calterm.core.circle.calibration`'s exact
Bragg geometry): *by parameters* (λ, distance and pixel size typed) gives the ring's d-spacing;
*by d* (the ring's d typed, or ring 1 of screen 1's calibrant) gives the distance. Pure
arithmetic, no pyFAI: the screen recomputes it on every keystroke once a fit exists. Shown in the
app's units, d in Å and distances in mm.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from calterm.errors import InputError

if TYPE_CHECKING:
    from calterm.inputs.circle import RingScale


def scale_calibration(radius_px: float, radius_se_px: float | None, scale: RingScale,
                      pixel_size_um: float | None) -> dict | None:
    """The calibration the typed scale gives (None when neither a distance nor a d-spacing is known);
    InputError naming what is missing for calibration by parameters."""
    from calterm.core.circle import calibration as cc

    wavelength_A = scale.wavelength_A
    if scale.distance_mm is not None:
        missing = [what for what, value in (("λ or E", wavelength_A), ("pixel µm", pixel_size_um)) if value is None]
        if missing:
            raise InputError(f"by parameters: needs {' and '.join(missing)}")
        return cc.calibrate_by_parameters(radius_px, wavelength_A, scale.distance_mm, pixel_size_um).as_dict()
    if scale.d_spacing_nm is not None:
        return cc.calibrate_ring(radius_px, scale.d_spacing_nm, wavelength_A, pixel_size_um, radius_se_px).as_dict()
    return None


def with_wavelength(scale: RingScale, wavelength_A: float | None) -> RingScale:
    """The typed λ, else ``wavelength_A`` (screen 1's)."""
    return scale if scale.wavelength_A is not None else replace(scale, wavelength_A=wavelength_A)


def scale_lines(cal: dict) -> list[str]:
    """What the screen shows of a calibration (Rich markup): d in Å, distance in mm."""
    d_A = cal["d_spacing_nm"] * 10.0
    if cal.get("source") == "parameters":
        return [f"d [b]{d_A:.4f}[/b] Å  (1/d {1.0 / d_A:.6f} Å⁻¹)",
                f"2θ {cal['two_theta_deg']:.4f}° by parameters: λ {cal['wavelength_A']:.5g} Å, "
                f"{cal['distance_mm']:.2f} mm, pixel {cal['pixel_size_um']:.4g} µm"]
    lines = []
    if "distance_mm" in cal:
        se = f" ± {cal['distance_se_mm']:.2f}" if "distance_se_mm" in cal else ""
        lines.append(f"distance [b]{cal['distance_mm']:.2f}{se}[/b] mm")
        lines.append(f"from d {d_A:.4f} Å: λ {cal['wavelength_A']:.5g} Å, pixel {cal['pixel_size_um']:.4g} µm, "
                     f"2θ {cal['two_theta_deg']:.4f}°")
    else:
        lines.append(f"d {d_A:.4f} Å: scale {cal['scale_inv_nm_per_px'] / 10.0:.6g} Å⁻¹/px "
                     "(pixel µm gives the distance)")
    return lines
