"""The view as real pixels for terminal graphics (Kitty, Sixel through ``textual-image``): the
sampled image coloured by the grey ramp, with the overlays burned in, as a PIL image.

The terminal scales the picture to the widget's cells, so the picture is drawn at
:data:`PIXELS_PER_CELL` x 2 * :data:`PIXELS_PER_CELL` pixels per cell: fine enough to show ring
widths and small enough to send quickly over SSH. Rings are one picture pixel wide; a point is a
green ``x`` of three pixels' reach, the marked point a yellow square, the cursor a red cross.
"""

from __future__ import annotations

import numpy as np

from calterm.tui.widgets.image_cells import OVERLAY_TRUE, grey_ramp

PIXELS_PER_CELL = 4
OFF_IMAGE = (0, 0, 0)


def _rgb(name: str) -> tuple[int, int, int]:
    return int(name[1:3], 16), int(name[3:5], 16), int(name[5:7], 16)


_RAMP = np.array([_rgb(c) for c in grey_ramp(256)], dtype=np.uint8)


def picture(t: np.ndarray, inside: np.ndarray, ring: np.ndarray | None,
            marks: list[tuple[str, int, int]]) -> np.ndarray:
    """RGB (rows, cols, 3) uint8 of normalised values ``t`` with rings and marks ((kind, col, row)
    in picture pixels) burned in."""
    rgb = _RAMP[np.rint(t * 255).astype(np.uint8)]
    rgb[~inside] = OFF_IMAGE
    if ring is not None:
        rgb[ring] = _rgb(OVERLAY_TRUE["ring"])
    h, w = t.shape
    reach = max(2, PIXELS_PER_CELL)
    for kind, c, r in marks:
        colour = _rgb(OVERLAY_TRUE[kind])
        d = np.arange(-reach, reach + 1)
        if kind == "cursor":
            pts = [(r, c + k) for k in d] + [(r + k, c) for k in d]
        elif kind == "point":
            pts = [(r + k, c + k) for k in d] + [(r + k, c - k) for k in d]
        else:
            pts = [(r + a, c + b) for a in d for b in d if max(abs(a), abs(b)) == reach]
        for y, x in pts:
            if 0 <= y < h and 0 <= x < w:
                rgb[y, x] = colour
    return rgb


def pil_image(rgb: np.ndarray):
    """The picture as a PIL image (what textual-image's widgets take)."""
    from PIL import Image

    return Image.fromarray(rgb, mode="RGB")
