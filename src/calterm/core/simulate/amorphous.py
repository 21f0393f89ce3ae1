"""A synthetic gain-map experiment with a known answer: the tests', benchmark's and demo's case.

Amorphous scattering (a smooth glass-like structure factor, times pyFAI's polarization and solid
angle) on a Pilatus1M with its module gaps, seen at several detector positions each with its own
PONI geometry and beam-stop shadow (disc plus arm, soft edges, 2 % transmission), multiplied by a
known gain (module factors, a ramp, per-pixel speckle, a few dozen damaged pixels), with Poisson
noise. Binned variants keep the Pilatus gap layout on a generic pyFAI detector (pyFAI's own
binning of a Pilatus1M cannot rebin its mask: 1043x981 is odd).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calterm.core.common.geometry import PoniGeometry, poni_text

PILATUS_PIXEL_M = 172e-6


@dataclass(frozen=True)
class GainCase:
    """Recipe for the synthetic experiment (positions as beam-centre fractions x, y of the detector)."""

    binning: int = 1
    detector: str = "Pilatus1M"  # a pyFAI registry name (Eiger4M for the 4 Mpx benchmark)
    centres: tuple[tuple[float, float], ...] = ((0.5, 0.5), (0.27, 0.3), (0.74, 0.27), (0.3, 0.73), (0.71, 0.7))
    tilts_rad: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.01, -0.006), (-0.008, 0.004), (0.005, 0.009), (-0.004, -0.01))
    intensity: tuple[float, ...] = (1.0, 0.93, 1.06, 0.97, 1.1)  # beam intensity per position
    distance_m: float = 0.25
    wavelength_m: float = 0.5e-10
    counts: float = 20000.0  # mean counts per pixel per position, summed over frames
    frames: int = 2
    module_spread: float = 0.04
    ramp: tuple[float, float] = (0.06, 0.03)  # peak-to-peak along columns, rows
    dome: float = 0.0  # centre-to-corner fall of a radial gain term (the slowest mode of an alternating fit)
    speckle: float = 0.0082  # a 3x3 median of the truth is then 0.8 % RMS from it
    damaged: int = 40
    damaged_departure: tuple[float, float] = (0.12, 0.6)  # down to 0.4: darker than the beam-stop threshold
    beamstop_radius_px: float = 14.0  # full-resolution pixels
    arm_width_px: float = 8.0
    arm_angle_deg: float = 20.0  # from "up" (row 0) towards +x
    transmission: float = 0.02
    seed: int = 1


@dataclass
class GainTruth:
    detector: object
    gaps: np.ndarray
    gain: np.ndarray  # the true gain (divide form, median 1 over valid pixels)
    smooth: np.ndarray  # module factors x ramp: the part a median filter should recover
    damaged: np.ndarray
    geometries: list[PoniGeometry] = field(default_factory=list)


def make_detector(binning: int = 1, name: str = "Pilatus1M"):
    """The registry detector itself, or a generic detector with its gap layout block-binned."""
    import pyFAI.detectors

    full = pyFAI.detectors.detector_factory(name)
    if binning == 1:
        return full
    mask = np.asarray(full.mask) != 0
    rows, cols = mask.shape[0] // binning, mask.shape[1] // binning
    binned = mask[: rows * binning, : cols * binning].reshape(rows, binning, cols, binning).any(axis=(1, 3))
    p = full.pixel1 * binning
    det = pyFAI.detectors.Detector(pixel1=p, pixel2=p, max_shape=(rows, cols))
    det.mask = binned.astype(np.int8)
    return det


def amorphous_profile(tth_deg: np.ndarray, wavelength_m: float) -> np.ndarray:
    """A glass-like I(q): peaks at 1.55, 3.0, 5.2 Å⁻¹ on a slowly falling self + Compton term."""
    q = 4 * np.pi * np.sin(np.radians(tth_deg) / 2) / (wavelength_m * 1e10)
    s = (1 + 1.0 * np.exp(-((q - 1.55) ** 2) / (2 * 0.3**2)) + 0.35 * np.exp(-((q - 3.0) ** 2) / (2 * 0.5**2))
         + 0.08 * np.exp(-((q - 5.2) ** 2) / (2 * 0.7**2)))
    return s * (0.6 * np.exp(-(q**2) / 60) + 0.4)


def truth_gain(case: GainCase, det, rng: np.random.Generator) -> GainTruth:
    from scipy import ndimage

    gaps = np.asarray(det.mask) != 0 if det.mask is not None else np.zeros(det.shape, bool)
    labels, n_modules = ndimage.label(~gaps)
    module = np.concatenate([[1.0], rng.normal(1.0, case.module_spread, n_modules)])[labels]
    rows, cols = np.mgrid[0 : det.shape[0], 0 : det.shape[1]]
    ramp = 1 + case.ramp[0] * (cols / det.shape[1] - 0.5) + case.ramp[1] * (rows / det.shape[0] - 0.5)
    radius2 = ((cols / det.shape[1] - 0.5) ** 2 + (rows / det.shape[0] - 0.5) ** 2) / 0.5
    smooth = module * ramp * (1 - case.dome * radius2)
    gain = smooth * (1 + rng.normal(0.0, case.speckle, det.shape))
    damaged = np.zeros(det.shape, bool)
    candidates = np.flatnonzero(~gaps.ravel())
    picked = rng.choice(candidates, case.damaged, replace=False)
    damaged.flat[picked] = True
    departure = rng.uniform(*case.damaged_departure, case.damaged) * rng.choice([-1.0, 1.0], case.damaged)
    gain.flat[picked] *= 1 + departure
    scale = np.median(gain[~gaps])
    return GainTruth(det, gaps, gain / scale, smooth / np.median(smooth[~gaps]), damaged)


def geometries(case: GainCase, det) -> list[PoniGeometry]:
    out = []
    for (fx, fy), (r1, r2) in zip(case.centres, case.tilts_rad, strict=True):
        poni1 = fy * det.shape[0] * det.pixel1
        poni2 = fx * det.shape[1] * det.pixel2
        out.append(PoniGeometry(case.distance_m, poni1, poni2, r1, r2, 0.0, case.wavelength_m))
    return out


def beamstop_transmission(case: GainCase, det, centre_xy: tuple[float, float]) -> np.ndarray:
    """Disc around the direct beam plus an arm to the edge; edges ramp over one pixel."""
    b = case.binning
    rows, cols = np.mgrid[0 : det.shape[0], 0 : det.shape[1]].astype(float)
    dx, dy = cols - centre_xy[0], rows - centre_xy[1]
    d_disc = np.hypot(dx, dy) - case.beamstop_radius_px / b
    a = math.radians(case.arm_angle_deg)
    along = dx * math.sin(a) - dy * math.cos(a)  # distance along the arm (towards row 0)
    across = np.abs(dx * math.cos(a) + dy * math.sin(a))
    d_arm = np.where(along >= 0, across - case.arm_width_px / (2 * b), np.inf)
    distance = np.minimum(d_disc, d_arm)
    open_fraction = np.clip(distance + 0.5, 0.0, 1.0)
    return case.transmission + (1 - case.transmission) * open_fraction


def render(case: GainCase) -> tuple[list[list[np.ndarray]], GainTruth]:
    """Frames per position (float, gaps = -1) and the truth."""
    rng = np.random.default_rng(case.seed)
    det = make_detector(case.binning, case.detector)
    truth = truth_gain(case, det, rng)
    truth.geometries = geometries(case, det)
    positions = []
    for geometry, level in zip(truth.geometries, case.intensity, strict=True):
        ai = geometry.to_pyfai(det)
        tth = ai.center_array(det.shape, unit="2th_deg")
        signal = amorphous_profile(tth, case.wavelength_m) * ai.polarization(det.shape, factor=0.99) \
            * ai.solidAngleArray(det.shape)
        signal *= case.counts / np.median(signal[~truth.gaps])
        shadow = beamstop_transmission(case, det, geometry.beam_center_px(det))
        expected = signal * level * truth.gain * shadow / case.frames
        frames = []
        for _ in range(case.frames):
            frame = rng.poisson(expected).astype(np.float64)
            frame[truth.gaps] = -1.0
            frames.append(frame)
        positions.append(frames)
    return positions, truth


def write_case(case: GainCase, directory: str | Path) -> tuple[list[tuple[str, str]], GainTruth]:
    """Write the folder layout (``pos1/frame_0.tif ...``, ``pos1/pos1.poni``); return (glob, poni) pairs."""
    import tifffile

    root = Path(directory)
    positions, truth = render(case)
    pairs = []
    for k, (frames, geometry) in enumerate(zip(positions, truth.geometries, strict=True), start=1):
        folder = root / f"pos{k}"
        folder.mkdir(parents=True, exist_ok=True)
        for j, frame in enumerate(frames):
            tifffile.imwrite(folder / f"frame_{j}.tif", frame.astype(np.int32))
        poni = folder / f"pos{k}.poni"
        poni.write_text(poni_text(geometry, truth.detector), encoding="utf-8")
        pairs.append((str(folder / "frame_*.tif"), str(poni)))
    return pairs, truth
