"""Calibrant d-spacings: pyFAI's registry, or a user file in the pyFAI/Dioptas ``.D`` format.

A user file is looked up as a path, then by name (with or without ``.D``) in the user calibrant
folder (``$CALTERM_CALIBRANTS``, default ``~/.config/calterm/calibrants``). pyFAI parses the file,
so the format is exactly pyFAI's: one d-spacing in Å per line, ``#`` comments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calterm.errors import InputError


@dataclass(frozen=True)
class Calibrant:
    """A calibrant as distinct d-spacings in Å, largest first (ring 1 = largest d)."""

    name: str
    d_spacings_A: tuple[float, ...]
    source: str  # "pyFAI" or the file path

    def two_theta_rad(self, wavelength_m: float) -> np.ndarray:
        """Ring angles for ``wavelength_m``; rings beyond backscattering are dropped."""
        s = wavelength_m * 1e10 / (2.0 * np.asarray(self.d_spacings_A))
        return 2.0 * np.arcsin(s[s < 1.0])


def user_calibrant_dir() -> Path:
    return Path(os.environ.get("CALTERM_CALIBRANTS", Path.home() / ".config" / "calterm" / "calibrants"))


def registered_names() -> list[str]:
    import pyFAI.calibrant

    return sorted(pyFAI.calibrant.names())


def _distinct(d: np.ndarray) -> tuple[float, ...]:
    """Merge reflections that share a d-spacing (pyFAI lists every hkl; a ring is one d)."""
    d = np.sort(np.asarray(d, dtype=float)[np.isfinite(d) & (np.asarray(d) > 0)])[::-1]
    if d.size == 0:
        return ()
    keep = [d[0]]
    for value in d[1:]:
        if abs(value - keep[-1]) > 1e-7 * keep[-1]:
            keep.append(value)
    return tuple(float(v) for v in keep)


def load_calibrant(spec: str) -> Calibrant:
    """A calibrant by pyFAI name (case-insensitive), file path, or name in the user folder."""
    import pyFAI.calibrant

    path = Path(spec).expanduser()
    if not path.is_file():
        for candidate in (user_calibrant_dir() / spec, user_calibrant_dir() / f"{spec}.D"):
            if candidate.is_file():
                path = candidate
                break
    if path.is_file():
        try:
            cal = pyFAI.calibrant.Calibrant(filename=str(path))
            d = np.asarray(cal.dspacing, dtype=float)
        except Exception as exc:
            raise InputError(f"{path}: not a d-spacing file ({exc})") from exc
        values = _distinct(d)
        if not values:
            raise InputError(f"{path}: no d-spacings found")
        return Calibrant(path.stem, values, str(path))
    names = {n.lower(): n for n in pyFAI.calibrant.names()}
    if spec.lower() not in names:
        raise InputError(f"unknown calibrant {spec!r}: not a file, and not one of pyFAI's (see `calterm calibrants`)")
    cal = pyFAI.calibrant.get_calibrant(names[spec.lower()])
    return Calibrant(names[spec.lower()], _distinct(np.asarray(cal.dspacing, dtype=float)), "pyFAI")


# hc in keV·Å (CODATA 2018), the constant pyFAI uses: the one conversion between energy and wavelength
HC_KEV_A = 12.398419843320026
# what calterm accepts as an X-ray wavelength (Å) and photon energy (keV): the CLI and the app alike
WAVELENGTH_LIMITS_A = (0.01, 20.0)
ENERGY_LIMITS_KEV = (0.5, 1000.0)


def energy_keV(wavelength_m: float) -> float:
    """Photon energy in keV of a wavelength in metres."""
    return HC_KEV_A / (wavelength_m * 1e10)


def wavelength_m(wavelength_A: float | None = None, energy_keV: float | None = None) -> float:
    """Wavelength in metres from Å or keV (exactly one must be given), within the plausible limits."""
    if (wavelength_A is None) == (energy_keV is None):
        raise InputError("give exactly one of wavelength (Å) or energy (keV)")
    if wavelength_A is not None:
        lo, hi = WAVELENGTH_LIMITS_A
        if not (np.isfinite(wavelength_A) and lo < wavelength_A < hi):
            raise InputError(f"wavelength {wavelength_A} Å is not plausible ({lo:g}-{hi:g} Å)")
        return wavelength_A * 1e-10
    lo, hi = ENERGY_LIMITS_KEV
    if not (np.isfinite(energy_keV) and lo < energy_keV < hi):
        raise InputError(f"energy {energy_keV} keV is not plausible ({lo:g}-{hi:g} keV)")
    return HC_KEV_A / energy_keV * 1e-10
