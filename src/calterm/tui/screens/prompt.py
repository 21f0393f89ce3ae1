"""A one-line question (a file path, usually) with a default; enter accepts, esc cancels, Tab
completes the path like a shell (:class:`~calterm.tui.widgets.path_input.PathInput`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from calterm.tui.widgets.path_input import PathInput


class PromptScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 72; max-width: 100%; height: auto; border: round $accent;
                              background: $surface; padding: 0 1; }
    PromptScreen Static { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, default: str = "", note: str = "", dirs_only: bool = False,
                 allow_empty: bool = False) -> None:
        super().__init__()
        self.question, self.default, self.note, self.dirs_only = question, default, note, dirs_only
        self.allow_empty = allow_empty  # enter on an empty field answers "" (else None, as esc)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.question}[/b]")
            yield PathInput(value=self.default, id="answer", dirs_only=self.dirs_only)
            yield Static(self.note, classes="note", id="note", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_path_input_completed(self, event: PathInput.Completed) -> None:
        names = event.completion.candidates
        if len(names) != 1:  # several: list them where the note was; none: say so
            self.query_one("#note", Static).update("  ".join(names)[:240] if names else "no match")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or ("" if self.allow_empty else None))

    def action_cancel(self) -> None:
        self.dismiss(None)
