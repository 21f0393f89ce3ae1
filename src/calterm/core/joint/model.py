"""What a joint calibration of several images takes and gives (frozen dataclasses).

The parameter model says, for each PONI parameter, how the images share it:

- ``shared``: one value for every image (the beam centre, the tilts, the wavelength);
- ``per-image``: one value per image (the distance, by default);
- ``linked``: the distance only, ``dist_i = L0 + travel_i`` with the travel known (typed or from
  headers): the stage moves the detector along its normal by known amounts, which is what makes
  the wavelength identifiable (with free distances, λ and every distance rescale together);
- ``fixed``: kept at the start value (rot3 by default, as in a single-image calibration).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from calterm.core.calibrate.model import CalibrationRequest, CalibrationResult, RingResidual
from calterm.core.common.geometry import PARAMS, PoniGeometry
from calterm.errors import InputError

MODES = ("shared", "per-image", "linked", "fixed")
DEFAULT_MODES = {"dist": "per-image", "poni1": "shared", "poni2": "shared", "rot1": "shared", "rot2": "shared",
                 "rot3": "fixed", "wavelength": "shared"}


@dataclass(frozen=True)
class ParameterModel:
    """How each PONI parameter is shared between the images, and the known travel (m) when linked."""

    modes: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MODES))
    travel_m: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        modes = {**DEFAULT_MODES, **self.modes}
        for name, mode in modes.items():
            if name not in PARAMS:
                raise InputError(f"unknown geometry parameter {name!r} (use {', '.join(PARAMS)})")
            if mode not in MODES:
                raise InputError(f"{name}: model must be one of {', '.join(MODES)}, not {mode!r}")
            if mode == "linked" and name != "dist":
                raise InputError(f"{name}: only the distance can be linked (dist_i = L0 + travel_i)")
            if name == "wavelength" and mode == "per-image":
                raise InputError("wavelength: shared or fixed (one beam for every image)")
        object.__setattr__(self, "modes", modes)
        if modes["dist"] == "linked" and self.travel_m is None:
            raise InputError("a linked distance needs the travel of each image (--travel MM,MM,... or header)")

    @property
    def linked(self) -> bool:
        return self.modes["dist"] == "linked"

    def wavelength_identifiable(self) -> tuple[bool, str]:
        """Can the images tell the wavelength apart from the distances? (and why, in words)."""
        if self.modes["wavelength"] == "fixed":
            return False, "wavelength fixed by the model"
        if self.linked:
            return True, "wavelength refined: the distances are linked by a known travel"
        return False, ("wavelength not identifiable with free or shared distances (λ and the distance rescale "
                       "together): kept at the typed value; link the distances (--travel) to refine it")


@dataclass(frozen=True)
class JointRequest:
    """Several images (each its own single-image request: image, calibrant, start values) and the model."""

    images: tuple[CalibrationRequest, ...]
    model: ParameterModel = field(default_factory=ParameterModel)

    def __post_init__(self) -> None:
        if len(self.images) < 2:
            raise InputError("a joint calibration needs at least two images")
        travel = self.model.travel_m
        if travel is not None and len(travel) != len(self.images):
            raise InputError(f"travel: {len(travel)} values for {len(self.images)} images (one per image)")
        if len({r.wavelength_m for r in self.images}) != 1:
            raise InputError("every image of a joint fit needs the same start wavelength (one beam)")


@dataclass(frozen=True)
class ImageFit:
    """One image's part of the joint fit: its geometry, its points' residuals and their table."""

    image_path: str
    geometry: PoniGeometry
    own: CalibrationResult  # its own calibration: the start
    residual_rad: np.ndarray
    rings: tuple[RingResidual, ...]

    @property
    def rms_2th_deg(self) -> float:
        return float(np.degrees(np.sqrt(np.mean(self.residual_rad**2))))

    def summary(self, detector) -> dict:
        return {"image": self.image_path, "calibrant": self.own.calibrant, "geometry": self.geometry.as_dict(),
                "fit2d": self.geometry.fit2d(detector), "rms_2th_deg": self.rms_2th_deg,
                "own_rms_2th_deg": self.own.rms_2th_deg, "own_geometry": self.own.geometry.as_dict(),
                "own_verdict": self.own.verdict.status, "n_points": int(self.residual_rad.size),
                "rings": [asdict(r) for r in self.rings]}


@dataclass(frozen=True)
class JointResult:
    """The joint geometry of every image, the shared values with their 1σ, and the verdict."""

    images: tuple[ImageFit, ...]
    values: dict[str, float]  # each fitted slot: "poni1", "L0", "dist[2]", "wavelength", ...
    sigma: dict[str, float]
    model: ParameterModel
    wavelength_refined: bool
    wavelength_note: str
    status: str  # "good" or "doubtful"
    reasons: tuple[str, ...]
    timings_s: dict[str, float]
    sigma_method: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "good"

    @property
    def wavelength_m(self) -> float:
        return self.images[0].geometry.wavelength

    def summary(self) -> dict:
        return {"model": dict(self.model.modes),
                "travel_m": None if self.model.travel_m is None else list(self.model.travel_m),
                "values": self.values, "sigma": self.sigma, "sigma_method": self.sigma_method,
                "wavelength_m": self.wavelength_m, "wavelength_refined": self.wavelength_refined,
                "wavelength_note": self.wavelength_note,
                "verdict": {"status": self.status, "reasons": list(self.reasons)},
                "images": [f.summary(f.own.detector) for f in self.images], "timings_s": self.timings_s}
