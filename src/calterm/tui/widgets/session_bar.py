"""The top line: what is being calibrated, and the numbered screens with the current one lit."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from calterm.tui.session import Session

SCREENS = (("1", "parameters", "Params"), ("2", "points", "Points"), ("3", "refinement", "Refine"),
           ("4", "jobs", "Jobs"), ("5", "results", "Results"), ("6", "circle", "Ring"), ("7", "dark", "Dark"),
           ("8", "mask", "Mask"), ("9", "align", "Align"), ("0", "gain", "Gain"), ("", "joint", "Joint"),
           ("", "series", "Series"))
WIDE = 130  # below this many columns only the current screen's label is shown beside the numbers


class SessionBar(Static):
    """Image, detector, calibrant and wavelength on the left; screen numbers on the right."""

    DEFAULT_CSS = """
    SessionBar { height: 1; background: $panel; color: $foreground; }
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self._session: Session | None = None

    def on_resize(self) -> None:
        if self._session is not None:
            self.update_from(self._session)

    def update_from(self, session: Session) -> None:
        self._session = session
        r = session.request
        left = Text(" calterm ", style="bold reverse")
        name = Path(r.image_path).name if r.image_path else "(preparing demo…)"
        left.append(f" {name}  {r.detector or 'auto'}  {r.calibrant} {r.wavelength_m * 1e10:.4f} Å")
        right = Text()
        for key, mode, label in SCREENS:
            style = "bold reverse" if mode == self.mode else ""
            right.append(f"{key}", style="bold " + style)
            if mode == self.mode or self.size.width >= WIDE:
                right.append(f"{label}", style=style)
            right.append(" ")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(left, right)
        self.update(grid)
