"""Positions that add no independent information to a gain map are refused before the solve.

Why: the map rests on each pixel being seen through *different* parts of the profile at different
positions. A position given twice (the same frames, or frames identical to the last bit), two
positions with the same beam centre, or a beam centre inside another position's beam-stop shadow
give a map that looks converged while measuring nothing: the same position three times used to
give "median uncertainty 0.00 %" and exit 0 (issue 14).
"""

from __future__ import annotations

import hashlib

import numpy as np

from calterm.errors import InputError

SAME_CENTRE_PX = 2.0  # radial bins are about a pixel wide: centres closer than 2 px give nearly the same 2θ map


def data_digest(image: np.ndarray, invalid: np.ndarray) -> str:
    """SHA-256 of the averaged frame and its invalid pixels (identical data = identical digest)."""
    h = hashlib.sha256()
    h.update(str(image.shape).encode())
    h.update(np.ascontiguousarray(image, dtype=np.float64).tobytes())
    h.update(np.packbits(np.asarray(invalid, bool)).tobytes())
    return h.hexdigest()


def check_distinct_data(names: list[str], images: list[np.ndarray], invalids: list[np.ndarray]) -> None:
    """InputError when two positions hold identical data (the same frames given twice)."""
    seen: dict[str, str] = {}
    for name, image, invalid in zip(names, images, invalids, strict=True):
        digest = data_digest(image, invalid)
        if digest in seen:
            raise InputError(f"{name} holds the same data as {seen[digest]} (identical frames): it adds no "
                             "independent information; give each position once")
        seen[digest] = name


def check_distinct_centres(names: list[str], centres: list[tuple[float, float]]) -> None:
    """InputError when two beam centres are within :data:`SAME_CENTRE_PX` pixels."""
    for p in range(len(centres)):
        for q in range(p):
            dist = float(np.hypot(centres[p][0] - centres[q][0], centres[p][1] - centres[q][1]))
            if dist < SAME_CENTRE_PX:
                raise InputError(f"{names[p]} and {names[q]} have the same beam centre ({centres[p][0]:.1f}, "
                                 f"{centres[p][1]:.1f}) px, {dist:.1f} px apart: the second adds no independent "
                                 f"information; move the detector by more than the beam stop between positions")


def check_shadows_apart(names: list[str], centres: list[tuple[float, float]], shadows: list[np.ndarray]) -> None:
    """InputError when one position's direct beam falls in another position's beam-stop shadow.

    ``shadows`` are each position's own shadow *before* pixels dark at every position are given
    back (identical positions make every shadow pixel "dark everywhere"). The test looks at the
    3x3 pixels about the centre and needs most of them shadowed, so one dead pixel is no shadow.
    """
    shape = shadows[0].shape
    for p, (x, y) in enumerate(centres):
        col, row = int(round(x)), int(round(y))
        if not (0 <= row < shape[0] and 0 <= col < shape[1]):
            continue
        r0, r1, c0, c1 = max(row - 1, 0), min(row + 2, shape[0]), max(col - 1, 0), min(col + 2, shape[1])
        for q, other in enumerate(shadows):
            if q != p and other[r0:r1, c0:c1].mean() > 0.5:
                raise InputError(f"beam stops overlap: the direct beam of {names[p]} falls in the beam-stop "
                                 f"shadow of {names[q]}; move the detector further between positions")
