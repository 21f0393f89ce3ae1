"""Panel alignment from files to the written outputs: what ``calterm align`` and the align screen share.

Two methods, chosen by what the user has:

- with a calibration (a PONI file) and its calibrant, the **ring fit**
  (:mod:`calterm.core.health.panel_fit`): every panel's offset (and optionally rotation) fitted with
  the common geometry from ring peaks, each with its σ and whether it is significant (beyond 3σ).
  Tilt is part of the geometry, so it is not read as panel shifts;
- without, **rotational self-correlation** (:mod:`calterm.core.health.rotational`, as cctbx's
  ``cspad.quadrants_cbf``), which assumes untilted rings: the report warns that a tilt reads as
  shifts of pixels. With a calibration it is still run, as the ring fit's coarse start.

``shift`` is the displacement of a panel's content from where it belongs (x = column, y = row,
pixels); moving the panel by -shift aligns it. Outputs: the corrected image, a JSON offsets file and
a CrystFEL ``.geom`` (:mod:`calterm.core.health.crystfel`), each a new version through the one writer.
The correlation engine's names are re-exported here for the callers that imported them from here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from calterm.core.common.jobs import JobContext
from calterm.core.common.panel_layouts import Panel
from calterm.core.health.panel_fit import PanelFit
from calterm.core.health.rotational import (  # noqa: F401  (re-exported)
    MAX_POINTS,
    AlignResult,
    PanelShift,
    align_panel,
    align_panels,
    corrected_image,
    rotation_angles,
)
from calterm.errors import ComputationError, InputError

COARSE_POINTS = 20_000  # correlation sample points per panel as the ring fit's start: it needs ~1-2 px, not 0.02
TILT_WARNING = ("rotational correlation assumes untilted rings: a detector tilt reads as panel shifts of "
                "pixels; give a PONI file and the calibrant for the ring fit")


@dataclass(frozen=True)
class AlignSources:
    """What to align: the image, the beam centre (px, x = column, y = row; from the PONI if None),
    the panels, and for the ring fit the calibration (PONI), its calibrant and wavelength (Å, or the
    PONI's)."""

    image: str
    center: tuple[float, float] | None = None
    panels: str = "quadrants"  # quadrants | halves | halves-tb | modules | grid:RxC | a layout file
    mask: str | None = None
    frame: int = 0
    search_px: float = 20.0
    poni: str | None = None
    calibrant: str | None = None
    wavelength_A: float | None = None
    rotations: bool = False
    anisotropy: bool = False


@dataclass
class AlignRun:
    """An alignment and what it was computed on (the image, its valid pixels, the panels, the
    calibration when there was one)."""

    sources: AlignSources
    result: AlignResult  # rotational correlation (the answer without a calibrant, the coarse start with one)
    panels: list[Panel]
    image: np.ndarray
    valid: np.ndarray
    center: tuple[float, float] = (0.0, 0.0)
    fit: PanelFit | None = None
    geometry: object | None = None  # PoniGeometry of the calibration
    detector: object | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return "ring fit" if self.fit is not None else "rotational correlation"

    def poses(self) -> dict[str, tuple[float, float, float]]:
        """Each panel's (dx, dy, rot_deg): the ring fit's, else the correlation's."""
        if self.fit is not None:
            return {p.name: (p.shift[0], p.shift[1], p.rot_deg) for p in self.fit.panels}
        return {p.name: (p.shift[0], p.shift[1], 0.0) for p in self.result.panels}

    @cached_property
    def corrected(self) -> np.ndarray:
        """The image with every panel moved back (by -shift, and turned back by -rot)."""
        return moved_back(self.image, self.panels, self.poses())

    def report(self) -> dict:
        out = {"method": self.method, **self.result.report(), "center": list(self.center),
               "image": self.sources.image, "warnings": list(self.warnings)}
        if self.fit is not None:
            out["correlation"] = out.pop("panels")
            out.update(self.fit.report())
        return out


def moved_back(image: np.ndarray, panels: list[Panel], poses: dict, fill: float = -1.0) -> np.ndarray:
    """Each panel's content put back where it belongs: pixel q takes the panel's value at
    ``c + R(-rot)(q + shift - c)`` (cubic spline); uncovered pixels get ``fill``."""
    from scipy import ndimage

    out = np.array(image, float, copy=True)
    for panel in panels:
        dx, dy, rot_deg = poses[panel.name]
        sub = np.asarray(image[panel.slices], float)
        cx, cy = panel.centre[0] - panel.x0, panel.centre[1] - panel.y0
        a = math.radians(rot_deg)
        c, s = math.cos(a), math.sin(a)
        # (row, col) source = M (row, col) + offset, the inverse of Panel.true_positions
        matrix = np.array([[c, -s], [s, c]])
        offset = np.array([cy, cx]) - matrix @ np.array([cy - dy, cx - dx])
        moved = ndimage.affine_transform(sub, matrix, offset, order=3, mode="constant", cval=fill)
        covered = ndimage.affine_transform(np.ones_like(sub), matrix, offset, order=0, mode="constant", cval=0.0)
        moved[covered < 0.5] = fill
        out[panel.slices] = moved
    return out


def _coarse(image, valid, panels, center, search_px, ctx) -> tuple[AlignResult, list[str]]:
    """Rotational correlation panel by panel; a panel it cannot align starts at 0 (the ring fit
    searches a few pixels around its start)."""
    results, notes = [], []
    for i, panel in enumerate(panels):
        ctx.report(f"correlating {panel.name}", i, len(panels))
        try:
            if valid[panel.slices].sum() < 100:
                raise ComputationError(f"panel {panel.name}: fewer than 100 unmasked pixels")
            results.append(align_panel(image, valid, panel, center, search_px, ctx, max_points=COARSE_POINTS))
        except ComputationError as exc:
            notes.append(f"coarse start 0 for {panel.name}: {exc}")
            results.append(PanelShift(panel.name, (0.0, 0.0), float("nan"), float("nan"), ()))
    return AlignResult(results), notes


def align_from_files(sources: AlignSources, ctx: JobContext | None = None,
                     calibration: tuple[object, object] | None = None) -> AlignRun:
    """Read the image (and mask, layout, calibration), check the centre lies on it, and align its panels.

    ``calibration`` (a PoniGeometry and its pyFAI detector) stands for a PONI file when the caller
    has the geometry in hand (the app's calibration result); ``sources.poni`` wins when both are given.
    """
    from calterm.core.common.panel_layouts import resolve_layout
    from calterm.core.io.images import load_image, load_mask

    ctx = ctx or JobContext()
    geometry, detector = calibration if calibration is not None else (None, None)
    if sources.poni:
        from calterm.core.common.geometry import load_poni

        geometry, detector = load_poni(sources.poni)
    if geometry is not None and sources.wavelength_A:
        from dataclasses import replace

        geometry = replace(geometry, wavelength=sources.wavelength_A * 1e-10)
    if geometry is None and sources.calibrant:
        raise InputError("a calibrant needs its calibration: give the PONI file (--poni) for the ring fit")
    ctx.report("reading the image")
    img = load_image(sources.image, frame=sources.frame)
    h, w = img.shape
    if detector is not None and detector.shape is None:
        detector.shape = (h, w)  # a version-1 PONI gives pixel sizes only: the detector is the image
    if detector is not None and tuple(detector.shape) != (h, w):
        raise InputError(f"{sources.poni}: detector shape {tuple(detector.shape)} differs from the "
                         f"image's {(h, w)}")
    center = sources.center
    if center is None:
        if geometry is None:
            raise InputError("give the beam centre (--center X,Y) or a PONI file (--poni)")
        center = geometry.beam_center_px(detector)
    cx, cy = center
    if not (0 <= cx <= w - 1 and 0 <= cy <= h - 1):
        raise InputError(f"centre {cx:g},{cy:g} lies outside the {w}x{h} image")
    panels = resolve_layout(sources.panels, img.shape, detector)
    valid = ~img.invalid
    if sources.mask:
        valid &= ~load_mask(sources.mask, img.shape)
    if detector is not None and detector.mask is not None:
        valid &= np.asarray(detector.mask) == 0
    if not sources.search_px > 0:
        raise InputError(f"search range must be positive, not {sources.search_px}")
    if sources.calibrant is None:
        result = align_panels(img.data, panels, (cx, cy), valid=valid, search_px=sources.search_px, ctx=ctx)
        return AlignRun(sources, result, list(panels), img.data, valid, (cx, cy), None, geometry, detector,
                        [TILT_WARNING])
    from calterm.core.common.calibrants import load_calibrant
    from calterm.core.health.panel_fit import fit_panels

    rings = load_calibrant(sources.calibrant).two_theta_rad(geometry.wavelength)
    coarse, notes = _coarse(np.asarray(img.data, float), valid, panels, (cx, cy), sources.search_px, ctx)
    start = {p.name: p.shift for p in coarse.panels}
    fit = fit_panels(img.data, valid, panels, geometry, detector, rings, start_shifts=start,
                     rotations=sources.rotations, anisotropy=sources.anisotropy, ctx=ctx)
    return AlignRun(sources, coarse, list(panels), img.data, valid, (cx, cy), fit, geometry, detector,
                    notes + fit.warnings)


def offsets_document(run: AlignRun) -> dict:
    """The panel shifts as a JSON geometry file: each panel's shift and the correction (-shift)
    (with the ring fit: its σ, rotation and significance, and the refined common geometry)."""
    doc = {"method": run.method, "center": list(run.center),
           "units": "pixels; x = column, y = row; move each panel by correction", "panels": []}
    fitted = {p.name: p for p in run.fit.panels} if run.fit is not None else {}
    for panel, r in zip(run.panels, run.result.panels, strict=True):
        dx, dy, rot = run.poses()[panel.name]
        entry = {**panel.as_dict(), "shift": [dx, dy], "correction": [-dx, -dy]}
        if panel.name in fitted:
            entry.update({k: v for k, v in fitted[panel.name].as_dict().items() if k not in ("name", "shift")})
        else:
            entry["cc"] = r.cc
        doc["panels"].append(entry)
    if run.fit is not None:
        doc["geometry"] = run.fit.geometry.as_dict()
    return doc


def alignment_provenance(sources: AlignSources) -> dict:
    """What the outputs came from, logged with each one written."""
    return {"image": sources.image, "center": None if sources.center is None else list(sources.center),
            "panels": sources.panels, "mask": sources.mask, "frame": sources.frame, "search_px": sources.search_px,
            "poni": sources.poni, "calibrant": sources.calibrant, "wavelength_A": sources.wavelength_A,
            "rotations": sources.rotations, "anisotropy": sources.anisotropy}


def write_alignment_outputs(run: AlignRun, *, corrected: str | os.PathLike | None = None,
                            offsets: str | os.PathLike | None = None, geom: str | os.PathLike | None = None,
                            command: str, inputs: dict) -> dict[str, Path]:
    """Write the corrected image, the offsets file and/or the CrystFEL geometry through the one
    writer, each as a new version; returns {"corrected"/"offsets"/"geom": version written}."""
    import json

    from calterm.core.io.images import write_image
    from calterm.core.io.writer import write_output, write_text_output

    written: dict[str, Path] = {}
    if geom and (run.geometry is None or run.detector is None):
        raise InputError("a CrystFEL geometry needs the calibration: give the PONI file (--poni)")
    if corrected:
        fixed = run.corrected
        written["corrected"] = write_output(corrected, lambda tmp: write_image(tmp, fixed),
                                            command=f"{command} --corrected", inputs=inputs)
    if offsets:
        text = json.dumps(offsets_document(run), indent=2) + "\n"
        written["offsets"] = write_text_output(offsets, text, command=f"{command} --offsets", inputs=inputs)
    if geom:
        from calterm.core.health.crystfel import geom_text

        geometry = run.fit.geometry if run.fit is not None else run.geometry
        text = geom_text(run.panels, run.poses(), geometry, run.detector, source=run.sources.image)
        written["geom"] = write_text_output(geom, text, command=f"{command} --geom", inputs=inputs)
    return written
