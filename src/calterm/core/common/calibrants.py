"""Calibrant d-spacings: pyFAI's registry, or a user file in the pyFAI/Dioptas ``.D`` format.

A user file is looked up as a path, then by name (with or without ``.D``) in the user calibrant
folder (``$CALTERM_CALIBRANTS``, default ``~/.config/calterm/calibrants``). The format is pyFAI's
and Dioptas's: one d-spacing in Å per line, ``#`` comments. We read it ourselves rather than with
pyFAI's parser because that parser takes every number of a line as a d-spacing: a two-column
"d I" file (a common export of powder-pattern databases) then puts its intensities (100, 64,
41 ...) among the rings, ahead of the real first ring. Here the first column is the d-spacing,
whatever follows it (an intensity, hkl), and the list is refused unless it is plausible.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calterm.errors import InputError

# numpy is imported in the functions that compute: the app's first screen imports this module and
# shows before numpy (~0.1 s) is loaded
if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Calibrant:
    """A calibrant as distinct d-spacings in Å, largest first (ring 1 = largest d)."""

    name: str
    d_spacings_A: tuple[float, ...]
    source: str  # "pyFAI" or the file path
    note: str = ""  # how a user file was read, when that is worth saying (e.g. "d I" columns)

    def two_theta_rad(self, wavelength_m: float) -> np.ndarray:
        """Ring angles for ``wavelength_m``; rings beyond backscattering are dropped."""
        import numpy as np

        s = wavelength_m * 1e10 / (2.0 * np.asarray(self.d_spacings_A))
        return 2.0 * np.arcsin(s[s < 1.0])


def user_calibrant_dir() -> Path:
    return Path(os.environ.get("CALTERM_CALIBRANTS", Path.home() / ".config" / "calterm" / "calibrants"))


def registered_names() -> list[str]:
    import pyFAI.calibrant

    return sorted(pyFAI.calibrant.names())


def _distinct(d: np.ndarray) -> tuple[float, ...]:
    """Merge reflections that share a d-spacing (pyFAI lists every hkl; a ring is one d)."""
    import numpy as np

    d = np.sort(np.asarray(d, dtype=float)[np.isfinite(d) & (np.asarray(d) > 0)])[::-1]
    if d.size == 0:
        return ()
    keep = [d[0]]
    for value in d[1:]:
        if abs(value - keep[-1]) > 1e-7 * keep[-1]:
            keep.append(value)
    return tuple(float(v) for v in keep)


# The largest ratio of the first two distinct d-spacings among pyFAI's 2026.9 calibrants is 2.83
# (PBBA; AgBh and the alkanes 2.0: a lamellar first order before its second). A first ring more
# than 4x the second is not a ring of the same list: a stray intensity or a typo.
MAX_FIRST_RING_RATIO = 4.0


def read_d_spacing_file(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """The d-spacings (Å) of a ``.D`` file and a note on its layout.

    Each line: ``#`` starts a comment; the first number is the d-spacing; more numbers on the line
    (an intensity, Miller indices; after spaces, or a comma as in a CSV export) are ignored, and
    said in the note. A first word like ``4,157`` is refused: a decimal comma misread as a
    separator would give a d-spacing of 4 Å. A line whose first word is
    not a number is refused with its line number, rather than skipped, so that a wrong file is not
    read as a short calibrant.
    """
    import numpy as np

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    values: list[float] = []
    extra_columns = 0
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        first, *rest = words[0].split(",")
        if rest and "." not in first and "e" not in first.lower():
            # "4,157": a decimal comma, or "4,100" a CSV "d,I" with an integer d? Refuse, not guess
            raise InputError(f"{path}: line {number}: {words[0]!r} is ambiguous (a decimal comma?); write "
                             "d-spacings with a decimal point, other columns after a space")
        try:
            values.append(float(first))
        except ValueError:
            raise InputError(f"{path}: line {number} does not start with a d-spacing: {line.strip()[:60]!r}") from None
        extra_columns += bool(rest) or len(words) > 1
    if not values:
        raise InputError(f"{path}: no d-spacings found")
    note = ""
    if extra_columns:
        note = f"{extra_columns} of {len(values)} lines have more than one column; the first column is the d-spacing"
    return np.asarray(values, dtype=float), note


def check_plausible(d_spacings: np.ndarray, source: str) -> None:
    """Refuse d-spacings no calibrant has: not finite, ≤ 0, or a first ring far beyond the rest."""
    import numpy as np

    d = np.asarray(d_spacings, dtype=float)
    bad = d[~(np.isfinite(d) & (d > 0))]
    if bad.size:
        raise InputError(f"{source}: d-spacings must be positive numbers in Å, found {bad[0]:g}")
    distinct = np.unique(d)[::-1]
    if distinct.size > 1 and distinct[0] > MAX_FIRST_RING_RATIO * distinct[1]:
        raise InputError(f"{source}: the first d-spacing {distinct[0]:g} Å is {distinct[0] / distinct[1]:.1f}x the "
                         f"next ({distinct[1]:g} Å); no calibrant's rings are that far apart (is a column of "
                         "intensities in the file?)")


def load_calibrant(spec: str) -> Calibrant:
    """A calibrant by pyFAI name (case-insensitive), file path, or name in the user folder."""
    import numpy as np
    import pyFAI.calibrant

    path = Path(spec).expanduser()
    if not path.is_file():
        for candidate in (user_calibrant_dir() / spec, user_calibrant_dir() / f"{spec}.D"):
            if candidate.is_file():
                path = candidate
                break
    if path.is_file():
        d, note = read_d_spacing_file(path)
        check_plausible(d, str(path))
        return Calibrant(path.stem, _distinct(d), str(path), note)
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
        if not (math.isfinite(wavelength_A) and lo < wavelength_A < hi):
            raise InputError(f"wavelength {wavelength_A} Å is not plausible ({lo:g}-{hi:g} Å)")
        return wavelength_A * 1e-10
    lo, hi = ENERGY_LIMITS_KEV
    if not (math.isfinite(energy_keV) and lo < energy_keV < hi):
        raise InputError(f"energy {energy_keV} keV is not plausible ({lo:g}-{hi:g} keV)")
    return HC_KEV_A / energy_keV * 1e-10
