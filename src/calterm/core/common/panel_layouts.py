"""Named rectangles of a detector image: its four quadrants, a layout file, or the modules between gaps.

Panel alignment and per-module mask borders both need "which pixels form one piece of silicon".
A layout file names them, in either of two forms:

- text, one panel per line: ``NAME X0 Y0 X1 Y1`` (pixels, x = column, y = row, X1/Y1 exclusive;
  ``#`` starts a comment);
- JSON: ``{"panels": [{"name": "q0", "x": [X0, X1], "y": [Y0, Y1]}, ...]}``.
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


def quadrants(shape: tuple[int, int]) -> list[Panel]:
    """The image split at its middle row and column, row 0 at the top."""
    h, w = shape
    r, c = h // 2, w // 2
    return [Panel("top-left", 0, 0, c, r), Panel("top-right", c, 0, w, r),
            Panel("bottom-right", c, r, w, h), Panel("bottom-left", 0, r, c, h)]


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
