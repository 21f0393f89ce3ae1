"""F1 / ?: every key of the current screen and of the app, and the screen's sub-tabs, in one
scrollable list that fills the terminal (80x24 included): arrows, PageUp/PageDown or the mouse
wheel scroll it, esc closes it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 100%; max-width: 100; height: 100%; border: round $accent; background: $surface; }
    HelpScreen Static { height: auto; max-height: 4; padding: 0 1; }
    HelpScreen DataTable { height: 1fr; scrollbar-size-vertical: 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, title: str, about: str, keys: list[tuple[str, str]],
                 sections: list[tuple[str, list[tuple[str, str]]]] | None = None) -> None:
        super().__init__()
        self.title_text, self.about, self.keys = title, about, keys
        self.sections = sections or []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.title_text}[/b]  {self.about}  (↑↓ PgUp PgDn scroll · esc closes)")
            yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "action")
        for key, description in self.keys:
            table.add_row(Text(key), Text(description))
        for heading, rows in self.sections:
            table.add_row(Text(""), Text(heading, style="bold underline"))
            for key, description in rows:
                table.add_row(Text(key), Text(description))
        table.focus()

    def action_dismiss(self, result=None) -> None:
        self.dismiss(None)


NAVIGATION = (("1-9, 0", "the first ten screens (when no text field has focus)"),
              ("alt+1-9, alt+0", "the same screens from anywhere, a text field included"),
              ("tab / shift+tab", "next / previous field (keys typed fast still land in order)"),
              ("enter / = / a", "place a point only when the image view has focus (tab to it); never with no focus"),
              ("paste", "goes into the focused field only (first line); ignored when no field has focus"),
              ("esc", "cancel the running job, or leave the field"),
              ("ctrl+p", "command palette: every action and screen by name"))


def help_sections(mode: str, screen, commands) -> tuple[list[tuple[str, str]], list[tuple[str, list[tuple[str, str]]]]]:
    """This screen's keys first (its commands, then any other binding it shows), then its sub-tabs,
    then the keys of the whole app."""
    mine = [(c.key, c.title) for c in commands if c.key and c.mode == mode]
    known = {k.strip() for key, _ in mine for k in key.split("/")}
    for binding in getattr(screen, "BINDINGS", ()):
        key = getattr(binding, "key", "")
        if key and binding.description and not {k.strip() for k in key.split(",")} & known:
            mine.append((key.replace(",", " / "), binding.description))
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    tabs = [(str(getattr(pane, "_title", "") or pane.id), pane.id or "") for pane in screen.query("TabPane")]
    if tabs:
        sections.append(("Sub-tabs: left / right on the tab row (shift+tab reaches it), or a click",
                         [("←/→" if i == 0 else "", title) for i, (title, _id) in enumerate(tabs)]))
    sections.append(("Everywhere", [(c.key, c.title) for c in commands if c.key and c.mode is None]))
    sections.append(("Moving around", list(NAVIGATION)))
    return mine, sections
