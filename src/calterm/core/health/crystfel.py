"""Per-panel detector geometry as a CrystFEL ``.geom`` file, written and read back.

The XFEL world (CrystFEL, cctbx.xfel, OnDA, extra-geom) describes a segmented detector panel by
panel: the pixel range of each panel in the data array (``min_fs``..``max_fs`` along the fast scan =
image column, ``min_ss``..``max_ss`` along the slow scan = image row), the lab position of its
first pixel's corner (``corner_x``, ``corner_y`` in pixels from the beam, ``coffset`` in metres
along the beam beyond ``clen``) and the lab directions of one fast and one slow step (``fs``,
``ss``: vectors in pixels, with a ``z`` part when the detector is tilted), plus the pixel pitch
(``res``, pixels per metre), ``clen`` (m) and ``photon_energy`` (eV).

Lab axes are pyFAI's (``calc_pos_zyx``: z along the beam; y along image rows, x along image
columns for an untilted detector), which pyFAI's own reader (``pyFAI.geometry.crystfel``) takes to
be CrystFEL's: a file written here and read by pyFAI gives the same pixel positions (tested), which
is the outside check of this module. pyFAI's reader keeps only the in-plane part (no tilt, no
``coffset``), so a tilted geometry is exact in CrystFEL and in :func:`read_geom` here, and
approximate (to the cosine of the tilt) in pyFAI.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.panel_layouts import Panel
from calterm.errors import InputError

HC_EV_M = 12398.419843320026e-10  # h c in eV·m (CODATA 2018)
RESERVED = ("bad", "rigid_group", "group")


@dataclass(frozen=True)
class GeomPanel:
    """One panel as a CrystFEL file states it."""

    name: str
    min_fs: int
    max_fs: int
    min_ss: int
    max_ss: int
    corner: tuple[float, float]  # corner_x, corner_y (px)
    coffset: float  # m beyond clen
    fs: tuple[float, float, float]  # x, y, z (px per fast step)
    ss: tuple[float, float, float]


@dataclass(frozen=True)
class GeomFile:
    panels: list[GeomPanel]
    clen: float  # m
    res: float  # pixels per metre
    photon_energy_eV: float | None

    def positions(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lab (z, y, x) in metres of every pixel's centre; NaN outside every panel."""
        z, y, x = (np.full(shape, np.nan) for _ in range(3))
        p = 1.0 / self.res
        for q in self.panels:
            ss, fs = np.mgrid[0:q.max_ss - q.min_ss + 1, 0:q.max_fs - q.min_fs + 1].astype(float) + 0.5
            sl = (slice(q.min_ss, q.max_ss + 1), slice(q.min_fs, q.max_fs + 1))
            x[sl] = (q.corner[0] + fs * q.fs[0] + ss * q.ss[0]) * p
            y[sl] = (q.corner[1] + fs * q.fs[1] + ss * q.ss[1]) * p
            z[sl] = self.clen + q.coffset + (fs * q.fs[2] + ss * q.ss[2]) * p
        return z, y, x


def _crystfel_name(name: str, taken: set[str]) -> str:
    """A panel name CrystFEL accepts: letters, digits and underscores, not starting like its
    reserved groups (``bad*``, ``rigid_group*``, ``group*``), unique."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", name) or "panel"
    if out.startswith(RESERVED) or out[0].isdigit():
        out = "p_" + out
    base, k = out, 1
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def geom_text(panels: Sequence[Panel], poses: Mapping[str, tuple[float, ...]], geometry: PoniGeometry, detector,
              source: str | None = None) -> str:
    """The ``.geom`` text for ``panels`` at their poses ``{name: (dx, dy[, rot_deg])}`` (content
    displacement px, in-plane rotation) on the common ``geometry``."""
    ai = geometry.to_pyfai(detector)
    param = [float(v) for v in geometry.as_vector()[:6]]
    pixel = math.sqrt(detector.pixel1 * detector.pixel2)
    if abs(detector.pixel1 - detector.pixel2) > 1e-6 * pixel:
        raise InputError("CrystFEL geometry needs square pixels (res is one pitch)")
    lines = [
        "; CrystFEL geometry written by calterm align (per-panel positions from the panel fit)",
        f"; source image: {str(source).replace('=', '_')}" if source else "; source image: not given",
        "; lab axes as pyFAI's: z along the beam, positions in pixels from the beam, clen in metres",
        f"clen = {geometry.dist:.9g}",
        f"res = {1.0 / pixel:.9g}",
        f"photon_energy = {HC_EV_M / geometry.wavelength:.9g}",
        "adu_per_photon = 1",
        "",
    ]
    taken: set[str] = set()
    for panel in panels:
        pose = tuple(poses.get(panel.name, (0.0, 0.0, 0.0)))
        rot = math.radians(pose[2]) if len(pose) > 2 else 0.0
        # pixel corners at nominal (row - 0.5, col - 0.5): the first pixel's corner and one step each way
        rows = np.array([panel.y0 - 0.5, panel.y0 - 0.5, panel.y0 + 0.5])
        cols = np.array([panel.x0 - 0.5, panel.x0 + 0.5, panel.x0 - 0.5])
        r, c = panel.true_positions((pose[0], pose[1]), rot, rows, cols)
        z, y, x = (np.asarray(v, float) for v in ai.calc_pos_zyx(d1=r, d2=c, param=param, use_cython=False))
        fs = ((x[1] - x[0]) / pixel, (y[1] - y[0]) / pixel, (z[1] - z[0]) / pixel)
        ss = ((x[2] - x[0]) / pixel, (y[2] - y[0]) / pixel, (z[2] - z[0]) / pixel)
        name = _crystfel_name(panel.name, taken)
        lines += [
            f"; panel {panel.name}: content shift {pose[0]:+.4f} {pose[1]:+.4f} px, rotation {math.degrees(rot):+.5f} deg",
            f"{name}/min_fs = {panel.x0}", f"{name}/max_fs = {panel.x1 - 1}",
            f"{name}/min_ss = {panel.y0}", f"{name}/max_ss = {panel.y1 - 1}",
            f"{name}/fs = {_vector(fs)}", f"{name}/ss = {_vector(ss)}",
            f"{name}/corner_x = {x[0] / pixel:.9f}", f"{name}/corner_y = {y[0] / pixel:.9f}",
            f"{name}/coffset = {z[0] - geometry.dist:.9g}", "",
        ]
    return "\n".join(lines)


def _vector(v: tuple[float, float, float]) -> str:
    return f"{v[0]:+.9f}x {v[1]:+.9f}y {v[2]:+.9f}z"


_TERM = re.compile(r"([+-]?\s*(?:\d+\.?\d*(?:[eE][+-]?\d+)?)?)\s*([xyz])")


def _parse_vector(text: str) -> tuple[float, float, float]:
    out = {"x": 0.0, "y": 0.0, "z": 0.0}
    for number, axis in _TERM.findall(text.replace(" ", "")):
        number = number.strip()
        out[axis] = float(number + "1") if number in ("", "+", "-") else float(number)
    return out["x"], out["y"], out["z"]


def read_geom(path: str | os.PathLike) -> GeomFile:
    """Read a ``.geom`` file (the subset calterm writes and the common per-panel keys)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such geometry file")
    top: dict[str, str] = {}
    groups: dict[str, dict[str, str]] = {}
    for raw in p.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split(";", 1)[0].strip()
        if "=" not in line:
            continue
        key, value = (t.strip() for t in line.split("=", 1))
        if "/" in key:
            name, field = (t.strip() for t in key.split("/", 1))
            groups.setdefault(name, {})[field] = value
        else:
            top[key] = value
    try:
        res = float(top["res"])
        clen = float(top.get("clen", "nan").split()[0])
        energy = float(top["photon_energy"].split()[0]) if "photon_energy" in top else None
        panels = [GeomPanel(name, int(g["min_fs"]), int(g["max_fs"]), int(g["min_ss"]), int(g["max_ss"]),
                            (float(g["corner_x"]), float(g["corner_y"])), float(g.get("coffset", 0.0)),
                            _parse_vector(g["fs"]), _parse_vector(g["ss"]))
                  for name, g in groups.items() if not name.startswith(RESERVED) and "min_fs" in g]
    except (KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a CrystFEL geometry calterm can read ({exc})") from None
    if not panels:
        raise InputError(f"{path}: names no panel")
    return GeomFile(panels, clen, res, energy)
