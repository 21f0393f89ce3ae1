"""The sampled image drawn with characters: colour half-blocks (two display pixels per cell) or, as the
last fallback, braille dots; overlays (predicted rings, points, the cursor) drawn in the same grid.

Half-block: each cell is ``▀`` with the upper pixel as its foreground colour and the lower as its
background, so a cell shows two square-ish pixels. Colours come from a ramp of
:data:`RAMP_LEVELS` greys in truecolour or 256 colours; in 16 colours (the ``calterm-contrast`` theme,
or a terminal that has no more) the ramp is six ANSI colours ordered by brightness (black, blue,
bright black, cyan, white, bright white), so rings in magenta still stand out. Ring contours tint
their pixels; points (``x``), the marked point (``o``) and the cursor (``+``) replace their cell's
character, keeping the lower pixel as background. Braille: 2 x 4 dots per cell, a dot lit where the
pixel is brighter than most of the view, coloured by the cell's brightest pixel.
Styles are cached by colour pair: a redraw builds strips, it does not parse colours.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

RAMP_LEVELS = 24
ANSI_RAMP = ("black", "blue", "bright_black", "cyan", "white", "bright_white")
OVERLAY_TRUE = {"ring": "#ff40ff", "point": "#40ff40", "cursor": "#ff3030", "marked": "#ffff40"}
OVERLAY_ANSI = {"ring": "bright_magenta", "point": "bright_green", "cursor": "bright_red", "marked": "bright_yellow"}
MARK_CHARS = {"point": "x", "marked": "o", "cursor": "+"}


def grey_ramp(n: int = RAMP_LEVELS) -> list[str]:
    """``n`` greys, black to white, with a gamma that spreads the dim end (log images are mostly dim)."""
    v = np.rint(255 * np.linspace(0.0, 1.0, n) ** 0.8).astype(int)
    return [f"#{g:02x}{g:02x}{g:02x}" for g in v]


@dataclass
class Palette:
    """Colour names for the ramp and the overlays; index -1 of the ramp lookups means off the image."""

    ramp: list[str]
    overlay: dict[str, str]
    _styles: dict = field(default_factory=dict, repr=False)

    @classmethod
    def for_colours(cls, sixteen: bool) -> Palette:
        return cls(list(ANSI_RAMP), dict(OVERLAY_ANSI)) if sixteen else cls(grey_ramp(), dict(OVERLAY_TRUE))

    def levels(self, t: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """Ramp index of each normalised value (0..1), -1 off the image."""
        index = np.rint(t * (len(self.ramp) - 1)).astype(np.int16)
        return np.where(inside, index, -1)

    def colour(self, index: int) -> str | None:
        return self.ramp[index] if index >= 0 else None

    def style(self, fg: str | None, bg: str | None, bold: bool = False) -> Style:
        key = (fg, bg, bold)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style(color=fg, bgcolor=bg, bold=bold)
        return style


@dataclass(frozen=True)
class CellMarks:
    """Characters over cells: {(row, col): kind}, kind one of :data:`MARK_CHARS` (later kinds win)."""

    cells: dict[tuple[int, int], str]


def _pixel_colours(palette: Palette, index: np.ndarray, ring: np.ndarray | None) -> list[list[str | None]]:
    ramp = [*palette.ramp, None]  # index -1 picks the None at the end: off the image
    rows = [[ramp[i] for i in line] for line in index.tolist()]
    if ring is not None:
        tint = palette.overlay["ring"]
        for r, c in zip(*np.nonzero(ring), strict=True):
            rows[r][c] = tint
    return rows


def _strips(cells: list[list[tuple[str, Style]]]) -> list[Strip]:
    """One strip per row, consecutive cells of one style joined into one segment."""
    out = []
    for row in cells:
        segments: list[Segment] = []
        text, style = "", None
        for ch, st in row:
            if st is style:
                text += ch
                continue
            if text:
                segments.append(Segment(text, style))
            text, style = ch, st
        if text:
            segments.append(Segment(text, style))
        out.append(Strip(segments, len(row)))
    return out


def halfblock_strips(index: np.ndarray, palette: Palette, ring: np.ndarray | None = None,
                     marks: CellMarks | None = None) -> list[Strip]:
    """Strips for ``index`` (2 * rows x cols ramp indices): the upper pixel over the lower one."""
    colours = _pixel_colours(palette, index, ring)
    cells: list[list[tuple[str, Style]]] = []
    for r in range(index.shape[0] // 2):
        top, bottom = colours[2 * r], colours[2 * r + 1]
        cells.append([("▀", palette.style(t, b)) if t is not None else (" ", palette.style(None, b))
                      for t, b in zip(top, bottom, strict=True)])
    _apply_marks(cells, colours, palette, marks, lower=lambda r: 2 * r + 1)
    return _strips(cells)


def _apply_marks(cells, colours, palette: Palette, marks: CellMarks | None, lower) -> None:
    if marks is None:
        return
    for (r, c), kind in marks.cells.items():
        if 0 <= r < len(cells) and 0 <= c < len(cells[r]):
            bg = colours[lower(r)][c] if kind != "cursor" else None
            cells[r][c] = (MARK_CHARS[kind], palette.style(palette.overlay[kind], bg, bold=True))


_BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int32)


def braille_strips(t: np.ndarray, inside: np.ndarray, palette: Palette, ring: np.ndarray | None = None,
                   marks: CellMarks | None = None) -> list[Strip]:
    """Strips for ``t`` (4 * rows x 2 * cols normalised values): lit dots where a pixel is in the
    brightest 30 % of the view's pixels (and above a fifth of the range), ring dots lit too."""
    rows, cols = t.shape[0] // 4, t.shape[1] // 2
    valid = t[inside]
    threshold = max(float(np.percentile(valid, 70)) if valid.size else 1.0, 0.2)
    lit = inside & (t > threshold)
    if ring is not None:
        lit |= ring
    bits = (lit.reshape(rows, 4, cols, 2) * _BRAILLE_BITS[None, :, None, :]).sum(axis=(1, 3))
    bright = np.where(inside, t, 0.0).reshape(rows, 4, cols, 2).max(axis=(1, 3))
    index = np.rint(0.4 + 0.6 * bright * (len(palette.ramp) - 1)).astype(int).clip(0, len(palette.ramp) - 1)
    has_ring = ring.reshape(rows, 4, cols, 2).any(axis=(1, 3)) if ring is not None else np.zeros((rows, cols), bool)
    cells = [[(chr(0x2800 + int(b)), palette.style(palette.overlay["ring"] if hr else palette.ramp[k], None))
              for b, k, hr in zip(brow, krow, rrow, strict=True)]
             for brow, krow, rrow in zip(bits.tolist(), index.tolist(), has_ring.tolist(), strict=True)]
    colours = [[None] * cols for _ in range(rows)]
    _apply_marks(cells, colours, palette, marks, lower=lambda r: r)
    return _strips(cells)
