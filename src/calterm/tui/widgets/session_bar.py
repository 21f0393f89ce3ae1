"""The top line: what is being calibrated and where its outputs go (``→ folder``). The calibrant
and the wavelength are never cut (they decide every ring on screen); the image name, the detector
and the output folder give way first, with an ellipsis. The wavelength follows the app's unit
system (``u``): ``λ 0.3344 Å``, or ``λ 3.3440e-11 m`` in PONI units as a PONI file holds it (four
more characters, taken from the part that gives way). The screens' tabs are on the line below
(:mod:`calterm.tui.widgets.tab_bar`)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from calterm.tui.session import Session
from calterm.tui.units import MM, PONI, fmt


def wavelength_text(wavelength_m: float, units: str = MM) -> str:
    """The header's λ: in Å to 4 decimals, or in metres to 5 significant digits (PONI units)."""
    if not wavelength_m:
        return "λ not set"
    if units == PONI:
        return f"λ {fmt('wavelength', wavelength_m, units, spec='.4e', unit_too=True)}"
    return f"λ {wavelength_m * 1e10:.4f} Å"


def short_folder(folder: Path) -> str:
    """A folder as a user reads it: ``~/...`` under the home, ``…/last/two`` when long."""
    text = str(folder)
    home = str(Path.home())
    if text == home or text.startswith(home + "/"):
        text = "~" + text[len(home):]
    parts = Path(text).parts
    return text if len(text) <= 28 or len(parts) <= 3 else "…/" + "/".join(parts[-2:])


class SessionBar(Static):
    """`calterm  IMAGE  DETECTOR` (cut first) then `CALIBRANT  λ 0.3344 Å` (never cut)."""

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
        left.append(f" {name}  {r.detector or 'auto'}")
        left.append(f"  → {short_folder(session.output_folder())}", style="dim")  # where s, e and w write
        right = Text(f"{r.calibrant or 'no calibrant'}  ", style="bold")
        right.append(wavelength_text(r.wavelength_m, session.units), style="bold")
        right.append(" ")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(left, right)
        self.update(grid)
