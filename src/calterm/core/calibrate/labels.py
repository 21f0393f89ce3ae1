"""Are the ring labels consistent with the image? A check for the verdict.

A geometry that calls the first strong ring "ring 2" claims that ring 1 lies inside it, on the
detector. If the image shows nothing there, the labels are shifted by one (or more): a distance
tens of percent short, however small the residual. The typical trap is a one-ring image: a few
scattered noise peaks are taken as ring 1 and the real ring as ring 2, and two "rings" fit.

So every ring below the first strong one must be plausibly absent: off the detector or masked (no
profile there: no evidence either way), or weak by the calibrant's intensities. pyFAI's
calibrants carry no intensities, so every ring is expected present; when calterm's calibrants
gain intensities, ``weak_rings`` is where they enter.
"""

from __future__ import annotations

import numpy as np

from calterm.core.calibrate.explained import PEAK_Z, TthProfile
from calterm.core.calibrate.model import RingResidual

STRONG_FRACTION = 0.25  # a ring is strong when it holds a quarter of the best-sampled ring's points
# A ring expected inside the first strong ring is absent when its profile height is under a tenth of
# the strong ring's and under PEAK_Z. Measured: missing inner rings 0-3 σ; real first rings of LaB6,
# CeO2, Si and corundum, unmasked beam-stop edge included, 30-60 % of the strongest.
ABSENT_RATIO = 0.1
# One ring fits many geometries: what a user can do instead (the verdict says it too)
ONE_RING_HINT = (": a one-ring image fixes no distance; `calterm circle` fits the ring's centre and radius, "
                 "or type the distance (--distance MM --fix dist)")


def label_reasons(rings: tuple[RingResidual, ...], profile: TthProfile | None, tth_all_rad: np.ndarray,
                  weak_rings: frozenset[int] = frozenset()) -> list[str]:
    """Reasons (empty when consistent) why the labels of ``rings`` contradict the image's profile.

    ``weak_rings`` are 1-based rings the calibrant's intensities say may be invisible.
    """
    if profile is None or not rings:
        return []
    most = max(r.count for r in rings)
    strong = [r for r in rings if r.count >= STRONG_FRACTION * most]
    first = min(strong, key=lambda r: r.ring)
    if first.ring < 2:
        return []
    strong_height = profile.height(np.radians(first.tth_deg))
    if not np.isfinite(strong_height) or strong_height <= PEAK_Z:
        return []  # the strong ring itself is not clear on the profile: no scale to judge the others by
    counts = {r.ring: r.count for r in rings}
    missing = []
    for n in range(1, first.ring):
        if n in weak_rings or n > tth_all_rad.size:
            continue
        height = profile.height(float(tth_all_rad[n - 1]))
        if np.isfinite(height) and height < min(PEAK_Z, ABSENT_RATIO * strong_height):
            missing.append(n)
    if not missing:
        return []
    listed = ", ".join(f"{n} ({counts.get(n, 0)} points)" for n in missing)
    # the hint only where the image itself shows one ring (a wrong calibrant's fit may find one strong
    # ring on an image of many)
    _, heights = profile.peaks(limit=None)
    image_rings = int(np.sum(heights >= ABSENT_RATIO * heights.max())) if heights.size else 0
    hint = ONE_RING_HINT if len(strong) == 1 and image_rings <= 1 else ""
    return [f"ring {first.ring}, the first strong one ({first.count} points), needs ring(s) {listed} inside it on the "
            f"detector, but the image shows nothing there: the labels are shifted and the distance is wrong{hint}"]
