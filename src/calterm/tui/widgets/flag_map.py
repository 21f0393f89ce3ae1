"""Flagged pixels (a mask, damaged pixels) as braille dots: a terminal cell holds 2x4 dots, and a dot is
lit when any pixel of its square block is flagged, so a single bad pixel of a 16-Mpixel detector
still shows. Drawn directly as characters (no plotting library): one colour, readable in 16
colours and in monochrome; the title carries the count.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

# bit of each dot of a braille cell, by (row 0..3, column 0..1)
BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int32)


def braille_rows(flags: np.ndarray, rows: int, cols: int) -> list[str]:
    """``flags`` (True = lit) as ``rows`` lines of ``cols`` braille characters, square blocks."""
    h, w = flags.shape
    step = max(w / (2 * cols), h / (4 * rows), 1e-9)
    nr, nc = max(1, min(4 * rows, int(np.ceil(h / step)))), max(1, min(2 * cols, int(np.ceil(w / step))))
    r0 = np.minimum((np.arange(nr) * step).astype(int), h - 1)
    c0 = np.minimum((np.arange(nc) * step).astype(int), w - 1)
    dots = np.maximum.reduceat(np.maximum.reduceat(flags.astype(np.uint8), r0, axis=0), c0, axis=1) > 0
    padded = np.zeros((-(-nr // 4) * 4, -(-nc // 2) * 2), bool)
    padded[:nr, :nc] = dots
    code = np.zeros((padded.shape[0] // 4, padded.shape[1] // 2), dtype=np.int32)
    for dr in range(4):
        for dc in range(2):
            code += padded[dr::4, dc::2] * BITS[dr, dc]
    return ["".join(chr(0x2800 + int(v)) if v else " " for v in line) for line in code]


class FlagMap(Widget):
    DEFAULT_CSS = """
    FlagMap { width: 1fr; height: 1fr; min-height: 4; border: round $panel; color: $error; }
    FlagMap:focus { border: round $accent; }
    """
    can_focus = True

    def __init__(self, *, id: str | None = None, classes: str | None = None, title: str = "flagged") -> None:
        super().__init__(id=id, classes=classes)
        self.flags: np.ndarray | None = None
        self.label = title
        self.message = "nothing to show yet"
        self.border_title = title

    def show(self, flags=None, *, title: str | None = None, message: str | None = None) -> None:
        if title is not None:
            self.label = title
        if flags is not None:
            self.flags = np.asarray(flags, bool)
            self.border_title = f"{self.label}: {int(self.flags.sum())} px"
        if message is not None:
            self.message, self.flags = message, None
            self.border_title = self.label
        self.refresh()

    def render(self):
        if self.flags is None or self.flags.size == 0:
            return Text(self.message, style="dim")
        lines = braille_rows(self.flags, max(self.size.height, 1), max(self.size.width, 1))
        return Text("\n".join(lines), no_wrap=True, overflow="crop")
