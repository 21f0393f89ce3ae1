"""Named rectangles of a detector image: its four quadrants, a layout file, or the modules between gaps.

Panel alignment and per-module mask borders both need "which pixels form one piece of silicon".
A layout file names them, in either of two forms:

- text, one panel per line: ``NAME X0 Y0 X1 Y1`` (pixels, x = column, y = row, X1/Y1 exclusive;
  ``#`` starts a comment);
- JSON: ``{"panels": [{"name": "q0", "x": [X0, X1], "y": [Y0, Y1]}, ...]}``.

:func:`resolve_layout` turns what a user types into panels: ``quadrants``, ``halves`` (left |
right), ``halves-tb`` (top | bottom), ``modules`` (the registry detector's modules between its
gaps), ``grid:RxC`` (R x C equal sensors, e.g. ``grid:8x8`` for a CSPad-like 64-sensor layout),
or a layout file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calterm.errors import InputError

QUADRANT_NAMES = ("top-left", "top-right", "bottom-right", "bottom-left")


@dataclass(frozen=True)
class Panel:
    """A named rectangle of pixels: columns x0..x1-1, rows y0..y1-1."""

    name: str
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def as_dict(self) -> dict:
        return {"name": self.name, "x": [self.x0, self.x1], "y": [self.y0, self.y1]}

    @property
    def centre(self) -> tuple[float, float]:
        """The panel's middle (x, y), the pivot of its in-plane rotation."""
        return (self.x0 + self.x1 - 1) / 2, (self.y0 + self.y1 - 1) / 2

    def true_positions(self, shift: tuple[float, float], rot_rad: float, rows: np.ndarray,
                       cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where pixels (rows, cols) of this panel really are, in nominal pixel units (rows, cols),
        when its content is displaced by ``shift`` (x, y) and the panel turned by ``rot_rad`` about
        its centre: the pixel sits at ``c + R(rot)(p - c) - shift``."""
        cx, cy = self.centre
        c, s = np.cos(rot_rad), np.sin(rot_rad)
        u, v = np.asarray(cols, float) - cx, np.asarray(rows, float) - cy
        return cy + s * u + c * v - shift[1], cx + c * u - s * v - shift[0]


def quadrants(shape: tuple[int, int]) -> list[Panel]:
    """The image split at its middle row and column, row 0 at the top."""
    h, w = shape
    r, c = h // 2, w // 2
    return [Panel("top-left", 0, 0, c, r), Panel("top-right", c, 0, w, r),
            Panel("bottom-right", c, r, w, h), Panel("bottom-left", 0, r, c, h)]


def halves(shape: tuple[int, int], top_bottom: bool = False) -> list[Panel]:
    """The image split at its middle column (left | right) or, with ``top_bottom``, its middle row."""
    h, w = shape
    if top_bottom:
        return [Panel("top", 0, 0, w, h // 2), Panel("bottom", 0, h // 2, w, h)]
    return [Panel("left", 0, 0, w // 2, h), Panel("right", w // 2, 0, w, h)]


def sensor_grid(shape: tuple[int, int], rows: int, cols: int, gap: int = 0) -> list[Panel]:
    """``rows`` x ``cols`` equal sensors tiling the image (``gap`` pixels left out between them), named
    ``s{row}-{col}``: a CSPad is 64 such sensors (its 2x1s split at the ASIC boundary)."""
    h, w = shape
    if rows < 1 or cols < 1 or h // rows <= gap or w // cols <= gap:
        raise InputError(f"a {rows}x{cols} sensor grid does not fit a {w}x{h} image")
    ys = np.linspace(0, h, rows + 1).round().astype(int)
    xs = np.linspace(0, w, cols + 1).round().astype(int)
    half = gap // 2
    return [Panel(f"s{r}-{c}", int(xs[c]) + (half if c else 0), int(ys[r]) + (half if r else 0),
                  int(xs[c + 1]) - (gap - half if c < cols - 1 else 0),
                  int(ys[r + 1]) - (gap - half if r < rows - 1 else 0))
            for r in range(rows) for c in range(cols)]


def detector_modules(detector) -> list[Panel]:
    """A pyFAI detector's modules: the regions between the gaps its mask marks (Pilatus, Eiger,
    Jungfrau...); one panel for a detector without gaps."""
    mask = detector.mask if detector.mask is not None else detector.calc_mask()
    if mask is None or not np.asarray(mask).any():
        h, w = detector.shape
        return [Panel("module-0", 0, 0, w, h)]
    return modules_between_gaps(np.asarray(mask) != 0)


def resolve_layout(spec: str, shape: tuple[int, int], detector=None) -> list[Panel]:
    """Panels from what a user typed (see the module docstring); ``modules`` needs the detector."""
    text = str(spec or "quadrants").strip()
    if text == "quadrants":
        return quadrants(shape)
    if text in ("halves", "halves-lr", "halves-tb"):
        return halves(shape, top_bottom=text == "halves-tb")
    if text == "modules":
        if detector is None:
            raise InputError("panels 'modules' needs a detector: give a PONI file (--poni)")
        if tuple(detector.shape) != tuple(shape):
            raise InputError(f"detector shape {tuple(detector.shape)} differs from the image's {tuple(shape)}")
        modules = detector_modules(detector)
        if len(modules) < 2:
            raise InputError(f"panels 'modules': the detector ({type(detector).__name__}) marks no gaps between "
                             "modules; name the panels (grid:RxC or a layout file)")
        return modules
    if text.startswith("grid:"):
        try:
            r, c = (int(v) for v in text[5:].lower().split("x"))
        except ValueError:
            raise InputError(f"panels {text!r}: a grid is 'grid:RxC', e.g. grid:8x8") from None
        return sensor_grid(shape, r, c)
    return load_layout(text, shape)


def load_layout(path: str | os.PathLike, shape: tuple[int, int]) -> list[Panel]:
    """Read a layout file (text or JSON) and check every panel lies inside an image of ``shape``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such layout file")
    text = p.read_text(encoding="utf-8", errors="replace")
    try:
        panels = _from_json(text) if text.lstrip().startswith(("{", "[")) else _from_text(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a layout file ({exc}); expected lines 'NAME X0 Y0 X1 Y1' or JSON") from None
    if not panels:
        raise InputError(f"{path}: layout names no panel")
    names = [q.name for q in panels]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: panel names must be unique")
    h, w = shape
    for q in panels:
        if not (0 <= q.x0 < q.x1 <= w and 0 <= q.y0 < q.y1 <= h):
            raise InputError(f"{path}: panel {q.name} (x {q.x0}..{q.x1}, y {q.y0}..{q.y1}) "
                             f"is empty or outside the {w}x{h} image")
    return panels


def _from_json(text: str) -> list[Panel]:
    doc = json.loads(text)
    items = doc["panels"] if isinstance(doc, dict) else doc
    return [Panel(str(d["name"]), int(d["x"][0]), int(d["y"][0]), int(d["x"][1]), int(d["y"][1])) for d in items]


def _from_text(text: str) -> list[Panel]:
    panels = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, *numbers = line.split()
        if len(numbers) != 4:
            raise ValueError(f"line {line!r} has {len(numbers)} numbers, not 4")
        x0, y0, x1, y1 = (int(v) for v in numbers)
        panels.append(Panel(name, x0, y0, x1, y1))
    return panels


def modules_between_gaps(detector_mask: np.ndarray) -> list[Panel]:
    """Bounding boxes of the unmasked regions of a detector mask: its modules, since gaps are masked."""
    from scipy import ndimage

    labels, n = ndimage.label(~np.asarray(detector_mask, bool))
    boxes = ndimage.find_objects(labels)
    return [Panel(f"module-{i}", sx.start, sy.start, sx.stop, sy.stop)
            for i, (sy, sx) in enumerate(b for b in boxes if b is not None)]
