"""Which calibrant is this? ``calterm identify``: rank every known calibrant on an image, no fit.

The beam centre comes from ring symmetry (no labels, no calibrant: :func:`centre.find_centre`),
the radial profile about it gives the ring peaks as radii on the detector, and each calibrant's
comb is matched to them at its best distance (:mod:`identity`: explained peak height minus the
fraction of its rings the image does not show). A tilted detector smears the profile's outer
rings; the first, strongest ones still decide. With the beam in a corner or off the detector the
centre by symmetry can be pixels off along the arcs: a typed ``--center`` starts the search
there. Known limit: a tilted corner image gives a smeared profile and a weak ranking (the
calibration itself, which fits the tilt, still checks the calibrant: :mod:`identity`). None of pyFAI-calib2, Dioptas or MuscleX offers
this; it answers "which line of the list did I mean?" before a calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from calterm.core.calibrate.centre import centre_candidates, find_centre
from calterm.core.calibrate.comb import RadialProfile, inner_rings_radius, radial_profile
from calterm.core.calibrate.identity import STRONG_PEAKS, CalibrantScore, PeakSet, candidate_calibrants, rank
from calterm.core.common.calibrants import load_calibrant
from calterm.core.common.detectors import detector_mask, mean_pixel_m, resolve_detector
from calterm.core.common.jobs import JobContext
from calterm.core.io.images import load_image, load_mask
from calterm.errors import ComputationError, InputError

CENTRE_SEARCH_PX = 24.0  # about each whole-image candidate, as the calibration does
PROFILE_STEP = 2  # every 2nd pixel each way: plenty for a profile
FIRST_RINGS_PASSES = 3
# The radial profile is smoothed (1.5 px) and its noise taken over all radii, so its peaks stand lower
# than the fitted 2θ profile's: a noisy binned PerkinElmer Si image peaks at 7-9 σ where the 2θ
# profile of the fitted geometry shows 30+.
RADIAL_PEAK_Z = 4.0
# The profile wants the centre that makes the rings sharpest, not the beam: on a tilted detector
# they are ellipses whose centres drift off the beam (15 px on a binned Eiger4M corner image at 2°,
# where the beam centre itself gave a profile of 3 smeared peaks and the sharpest one 17).


@dataclass(frozen=True)
class IdentifyRequest:
    """What ``calterm identify`` takes: the image, the wavelength, optionally the detector."""

    image_path: str
    wavelength_m: float
    frame: int = 0
    detector: str | None = None
    pixel_size_um: float | None = None
    mask_path: str | None = None
    calibrant_files: tuple[str, ...] = ()  # d-spacing files to rank with the registry's
    top: int = 5
    center_xy: tuple[float, float] | None = None  # where to start the centre search


@dataclass(frozen=True)
class IdentifyResult:
    image_path: str
    detector_name: str
    centre_xy: tuple[float, float]
    peaks: int
    ranking: tuple[CalibrantScore, ...]  # best first, at most ``top``

    def summary(self) -> dict:
        return {"image": self.image_path, "detector": self.detector_name, "centre": list(self.centre_xy),
                "peaks": self.peaks, "calibrants": [s.as_dict() for s in self.ranking]}


def identify(request: IdentifyRequest, ctx: JobContext | None = None) -> IdentifyResult:
    """Rank the calibrants that explain the image's rings, best first."""
    ctx = ctx or JobContext()
    if request.top < 1:
        raise InputError(f"--top must be at least 1, not {request.top}")
    extra = [load_calibrant(path) for path in request.calibrant_files]
    ctx.report("loading")
    image = load_image(request.image_path, request.frame)
    choice = resolve_detector(image.shape, request.detector, request.pixel_size_um)
    valid = ~image.invalid & ~detector_mask(choice, image.shape)
    if request.mask_path:
        valid &= ~load_mask(request.mask_path, image.shape)
    if valid.mean() < 0.05:
        raise InputError(f"{request.image_path}: fewer than 5 % of the pixels are usable after masking")
    ctx.report("beam centre")
    if request.center_xy is not None:
        centre = find_centre(image.data, valid, request.center_xy, CENTRE_SEARCH_PX, ctx=ctx)
    else:
        candidates = centre_candidates(image.data, valid, ctx)
        if not candidates:
            raise ComputationError("no ring centre found in the image")
        centre = find_centre(image.data, valid, candidates[0], CENTRE_SEARCH_PX, ctx=ctx)
    # then the symmetric centre of the first rings alone: on a tilted detector the outer rings'
    # centres drift off the beam and smear the profile (the calibration's last resort does the same)
    for _ in range(0 if request.center_xy is not None else FIRST_RINGS_PASSES):
        radius = inner_rings_radius(radial_profile(image.data, valid, centre, step=PROFILE_STEP), 2)
        if radius is None:
            break
        moved = find_centre(image.data, valid, centre, search_px=40.0, max_radius_px=1.3 * radius + 20.0, ctx=ctx)
        done = np.hypot(moved[0] - centre[0], moved[1] - centre[1]) < 1.0
        centre = moved
        if done:
            break
    ctx.report("ranking calibrants")
    pixel = mean_pixel_m(choice.detector)
    peaks = peaks_from_radial_profile(radial_profile(image.data, valid, centre, step=PROFILE_STEP), pixel)
    if peaks is None:
        raise ComputationError("no ring peaks in the image's radial profile: nothing to identify")
    ranking = rank(peaks, candidate_calibrants(extra), request.wavelength_m)
    return IdentifyResult(request.image_path, choice.name, (float(centre[0]), float(centre[1])), int(peaks.x.size),
                          tuple(ranking[: request.top]))


def peaks_from_radial_profile(profile: RadialProfile, pixel_m: float) -> PeakSet | None:
    """The ring peaks of a radial profile about the beam centre, as radii in metres."""
    z, ok = profile.z, profile.count >= 3
    is_peak = (z > RADIAL_PEAK_Z) & (z == ndimage.maximum_filter1d(z, 7)) & ok
    idx = np.nonzero(is_peak)[0]
    idx = idx[np.argsort(z[idx])[::-1]][:STRONG_PEAKS]
    if idx.size < 2:
        return None
    i = np.clip(idx, 1, z.size - 2)
    a, b, c = z[i - 1], z[i], z[i + 1]
    denom = a - 2 * b + c
    shift = np.clip(np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0), -0.5, 0.5)
    radius = profile.radius_px[i] + shift
    top = ndimage.maximum_filter1d(z, 5, mode="nearest")
    covered = ndimage.minimum_filter1d(ok.astype(np.int8), 5, mode="nearest") > 0

    def heights(x: np.ndarray) -> np.ndarray:
        j = np.floor(np.asarray(x) / pixel_m).astype(np.intp)  # bin k holds radii [k, k+1) px
        inside = (j >= 2) & (j < z.size - 2)
        j = np.clip(j, 0, z.size - 1)
        return np.where(inside & covered[j], top[j], np.nan)

    # 3 px: the profile about a centre found by symmetry, on a possibly tilted detector, is wider
    # than the 2θ profile of a fitted geometry
    return PeakSet(radius * pixel_m, z[i], np.full(i.size, 3.0 * pixel_m), heights)
