"""What a geometry calibration takes and gives: plain frozen dataclasses shared by CLI, TUI and
session files. The pipeline that fills them lives in :mod:`calterm.core.calibrate.pipeline`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from calterm.core.common.geometry import Constraints, PoniGeometry
from calterm.core.common.history import History

# numpy is imported in the functions that compute: the app's first screen imports this module and
# shows before numpy (~0.1 s) is loaded
if TYPE_CHECKING:
    import numpy as np

PEAK_METHODS = ("spokes", "massif", "blob")


@dataclass(frozen=True)
class ControlPoint:
    """A user point: x = column, y = row (pixel centres at integers); ring is 1-based or None."""

    x: float
    y: float
    ring: int | None = None


@dataclass(frozen=True)
class CalibrationRequest:
    """Everything a calibration needs; every field a user can type in the CLI or the TUI."""

    image_path: str
    calibrant: str
    wavelength_m: float
    frame: int = 0
    rotate: int = 0
    flip: str | None = None
    detector: str | None = None
    pixel_size_um: float | None = None
    mask_path: str | None = None
    distance_mm: float | None = None
    center_xy: tuple[float, float] | None = None
    points: tuple[ControlPoint, ...] = ()
    grow_points: bool = True  # grow each seed point into its whole ring (Dioptas' automatic search)
    search_size_px: int = 10  # window of the single-peak search around each typed point
    rings: int | None = None  # at most this many rings in the final fit (None: all resolved rings)
    constraints: Constraints = field(default_factory=Constraints)
    auto_refine: bool = True
    peak_method: str = "spokes"  # spokes (fast, default), massif or blob (pyFAI's peak pickers)
    delta_2th_deg: float | None = None  # half-width of the window around each ring (None: adaptive)
    i_min_factor: float = 0.1  # peaks weaker than this fraction of the ring's median are dropped
    i_max: float | None = None  # pixels above this are treated as saturated
    seed: int = 0
    spline_path: str | None = None  # Fit2D spline file of a distorting detector (pyFAI's model)
    sensor: tuple[str, float] | None = None  # (material, thickness µm): pyFAI's parallax model
    fit_distortion: bool | None = None  # fit a smooth distortion; None: when the verdict sees one
    header_starts: bool = True  # the image header's distance and centre start where none is typed
    from_header: tuple[str, ...] = ()  # facts the face took from the header ("wavelength_A")

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_header", tuple(self.from_header))  # a session file gives a list


@dataclass(frozen=True)
class RingResidual:
    """Residual statistics of one ring (angles in degrees)."""

    ring: int  # 1-based
    d_A: float
    tth_deg: float
    count: int
    mean_deg: float
    std_deg: float


@dataclass(frozen=True)
class Verdict:
    """Whether the fit can be trusted, in words a user reads."""

    status: str  # "good", "doubtful" or "failed"
    reasons: tuple[str, ...]
    rms_rad: float
    noise_floor_rad: float

    @property
    def ok(self) -> bool:
        return self.status == "good"


@dataclass(frozen=True)
class CalibrationResult:
    """A calibrated geometry with everything that explains it."""

    geometry: PoniGeometry
    sigma: dict[str, float]  # 1-σ uncertainty of each free parameter (PONI units)
    detector_name: str
    shape: tuple[int, int]
    rows: np.ndarray  # control points actually fitted: row (y), column (x), 1-based ring
    cols: np.ndarray
    ring: np.ndarray
    residual_rad: np.ndarray  # 2θ_calc - 2θ_ring per point
    rings: tuple[RingResidual, ...]
    verdict: Verdict
    history: History
    fit2d: dict[str, float]
    timings_s: dict[str, float]
    calibrant: str
    detector: object = field(repr=False, compare=False, default=None)  # the pyFAI detector used
    distortion: object = field(repr=False, compare=False, default=None)  # a fitted SmoothDistortion
    identity: object = field(repr=False, compare=False, default=None)  # identity.Identity: the calibrant check
    detector_choice: object = field(repr=False, compare=False, default=None)  # DetectorChoice: how it was chosen
    from_header: dict = field(compare=False, default_factory=dict)  # start values etc. the header gave

    @property
    def rms_2th_deg(self) -> float:
        import numpy as np

        return float(np.degrees(np.sqrt(np.mean(self.residual_rad**2))))

    def summary(self) -> dict:
        """The ``--json`` document: geometry in PONI units plus residuals and the verdict."""
        from calterm.core.calibrate.uncertainty import METHOD as SIGMA_METHOD  # numpy's module

        return {
            "geometry": self.geometry.as_dict(),
            "sigma": self.sigma,
            "sigma_method": SIGMA_METHOD,  # how σ was estimated (core.calibrate.uncertainty)
            "fit2d": self.fit2d,
            "detector": self.detector_name,
            "shape": list(self.shape),
            "calibrant": self.calibrant,
            "rms_2th_deg": self.rms_2th_deg,
            "n_points": int(self.rows.size),
            "rings": [asdict(r) for r in self.rings],
            "verdict": {"status": self.verdict.status, "reasons": list(self.verdict.reasons),
                        "rms_rad": self.verdict.rms_rad, "noise_floor_rad": self.verdict.noise_floor_rad},
            "timings_s": self.timings_s,
            **({"distortion": self.distortion.as_dict()} if self.distortion is not None else {}),
            **({"identity": self.identity.as_dict()} if self.identity is not None else {}),
            **({"detector_choice": self.detector_choice.as_dict()} if self.detector_choice is not None else {}),
            "from_header": self.from_header,
        }
