"""The screen tabs: every screen named, the current one lit, in as many columns as there are.

Labels shrink (full, then short, then the widest ones to three letters, one at a time) until the
whole row fits, so at 80 columns every screen is still named. The first ten screens carry their digit key (1-9, 0); any further
screen (the list comes from the app's modes, so a new screen appears here by itself) has no digit
and is reached with ctrl+pageup / ctrl+pagedown, a click on its tab, or the command palette.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

DIGITS = "1234567890"  # the screens' digit keys, in the order of the app's screens
# mode -> labels from the widest to the narrowest
LABELS: dict[str, tuple[str, ...]] = {
    "parameters": ("Parameters", "Params", "Par"), "points": ("Points", "Points", "Pts"),
    "refinement": ("Refine", "Refine", "Ref"), "jobs": ("Jobs", "Jobs", "Job"),
    "results": ("Results", "Result", "Res"), "circle": ("Single ring", "Ring", "Rng"),
    "dark": ("Dark", "Dark", "Drk"), "mask": ("Mask", "Mask", "Msk"), "align": ("Align", "Align", "Aln"),
    "gain": ("Gain", "Gain", "Gn"), "joint": ("Joint", "Joint", "Jnt"), "series": ("Series", "Series", "Ser"),
}


def screen_key(index: int) -> str:
    """The digit that switches to the screen at ``index`` ("" beyond the tenth)."""
    return DIGITS[index] if index < len(DIGITS) else ""


def screen_labels(mode: str) -> tuple[str, ...]:
    return LABELS.get(mode) or (mode.capitalize(), mode.capitalize()[:6], mode.capitalize()[:3])


def tab_text(modes: list[str], current: str, width: int) -> Text:
    """The row of tabs that fits ``width`` columns: every label full if they fit, else short, and
    then the widest of the other screens' labels narrowed one at a time (the current one last)."""
    levels = [0] * len(modes)

    def row() -> Text:
        text = Text()
        for i, mode in enumerate(modes):
            key, label = screen_key(i), screen_labels(mode)[levels[i]]
            lit = mode == current
            style = Style(bold=True, reverse=True) if lit else Style()
            click = Style(meta={"@click": f"app.switch('{mode}')"})
            text.append(" ")
            if key:
                text.append(key, style=style + Style(bold=True, underline=not lit) + click)
            text.append(label, style=style + click)
        return text

    text = row()
    if text.cell_len <= width:
        return text
    levels = [1] * len(modes)
    text = row()
    while text.cell_len > width:
        narrowable = [i for i, mode in enumerate(modes) if levels[i] < 2]
        if not narrowable:
            break
        # the widest label first, the current screen's only when nothing else is left
        i = max(narrowable, key=lambda j: (modes[j] != current, len(screen_labels(modes[j])[levels[j]])))
        levels[i] += 1
        text = row()
    return text


class TabBar(Static):
    """One row: `1 Params 2 Points ...`; the screen shown is in reverse video (readable in 16 colours)."""

    DEFAULT_CSS = """
    TabBar { height: 1; background: $panel; color: $foreground; }
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    @property
    def modes(self) -> list[str]:
        return list(getattr(self.app, "MODES", {}) or ())

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        self.update(tab_text(self.modes, self.mode, max(self.size.width, 1)))
