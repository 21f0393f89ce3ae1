"""What the detector-health and gain screens share: a form of labelled fields saved as typed, a run
and a write action, and the last report kept in the session.

Each screen declares its fields once (:class:`Field`); the form lays them out two to a row (paths
take a whole row), restores them from ``session.tools[MODE]["inputs"]`` and saves every keystroke
(debounced), so a dropped SSH connection loses nothing typed. ``enter`` in any field runs the
screen's computation, as does ``r`` outside a field; ``w`` writes its outputs. Values stay text
until a run parses them, so a half-typed number is never an error until it is used.

Parsing is not done here: each screen hands its values to :mod:`calterm.inputs` (the parser the CLI
uses too) with :meth:`ToolScreen.field_name`, so an error names the field as the screen labels it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Input, Label

from calterm.core.common.jsonable import plain_json
from calterm.errors import InputError
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.widgets.checkbox import Checkbox
from calterm.tui.wording import in_app_words


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    default: str | bool = ""
    placeholder: str = ""
    wide: bool = False  # a whole row (paths, globs)


class ToolScreen(CaltermScreen):
    FIELDS: tuple[Field, ...] = ()
    DEFAULT_CSS = """
    ToolScreen .form { grid-size: 4; grid-columns: 13 1fr 13 1fr; grid-rows: 1; height: auto; grid-gutter: 0 1;
                       padding: 0 1; }
    ToolScreen .form Label { height: 1; color: $text-muted; }
    ToolScreen .form .wide { column-span: 3; }
    ToolScreen .form Checkbox { height: 1; border: none; padding: 0; }
    ToolScreen .form Input.-invalid-value { color: $error; text-style: bold; }
    ToolScreen .form Input:focus { background: $panel; color: $accent; text-style: bold; }
    ToolScreen .summary { height: auto; max-height: 4; padding: 0 1; background: $surface; }
    """
    BINDINGS = [Binding("r", "run", "Run"), Binding("w", "write", "Write")]

    # --- the form ------------------------------------------------------------------------------
    def compose_form(self, fields: tuple[Field, ...] | None = None) -> ComposeResult:
        with Grid(classes="form"):
            for f in fields or self.FIELDS:
                yield Label(f.label)
                if isinstance(f.default, bool):
                    yield Checkbox("", id=f"f-{f.key}", compact=True, classes="wide" if f.wide else "")
                else:
                    yield Input(placeholder=f.placeholder, id=f"f-{f.key}", compact=True,
                                classes="wide" if f.wide else "")

    @property
    def state(self) -> dict:
        """This screen's part of the session: {"inputs": {...}, "report": {...}}."""
        return self.session.tools.setdefault(self.MODE, {})

    def default_for(self, f: Field) -> str | bool:
        """The value a field starts with when the user never typed one (screens may look at the session)."""
        return f.default

    def on_session_changed(self, what: str) -> None:
        if what in ("all", "resume"):
            self.restore_form()
            self.on_restored(what)

    def on_restored(self, what: str) -> None:
        """The form was filled from the session ("all": first show or a new session; "resume").

        Screens do their after-mount work here: Textual calls a base class's ``on_mount`` after the
        subclass's own, so a subclass's ``on_mount`` runs before the form is filled.
        """

    def restore_form(self) -> None:
        typed = self.state.get("inputs", {})
        for f in self.FIELDS:
            value = typed.get(f.key, self.default_for(f))
            if isinstance(f.default, bool):
                box = self.query_one(f"#f-{f.key}", Checkbox)
                with box.prevent(Checkbox.Changed):
                    box.value = bool(value)
            else:
                field = self.query_one(f"#f-{f.key}", Input)
                if field.value != str(value):
                    with field.prevent(Input.Changed):
                        field.value = str(value)

    def values(self) -> dict[str, str | bool]:
        out: dict[str, str | bool] = {}
        for f in self.FIELDS:
            if isinstance(f.default, bool):
                out[f.key] = self.query_one(f"#f-{f.key}", Checkbox).value
            else:
                out[f.key] = self.query_one(f"#f-{f.key}", Input).value.strip()
        return out

    def set_value(self, key: str, value: str) -> None:
        """Fill a field from code (a default path, a result), saved like typing."""
        self.query_one(f"#f-{key}", Input).value = value

    def _typed(self, key: str, value) -> None:
        self.state.setdefault("inputs", {})[key] = value
        self.capp.changed("", debounce=True)
        self.on_field_changed(key)

    def on_field_changed(self, key: str) -> None:
        """A field changed (typed or filled); screens may react, e.g. refresh a preview."""

    def on_input_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        if wid.startswith("f-"):
            event.input.remove_class("-invalid-value")
            self._typed(wid[2:], event.value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        wid = event.checkbox.id or ""
        if wid.startswith("f-"):
            self._typed(wid[2:], event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").startswith("f-"):
            self.action_run()

    def field_name(self, key: str) -> str:
        """What this screen calls field ``key`` (its label), for :mod:`calterm.inputs`' errors."""
        return next((f.label for f in self.FIELDS if f.key == key), key)

    def parse(self, parser):
        """``parser(values)`` with a bad field shown as one line (and red, when its key is named)."""
        try:
            return parser(self.values())
        except InputError as exc:
            key = str(exc).split(":", 1)[0]
            for f in self.FIELDS:
                if f.label == key and not isinstance(f.default, bool):
                    self.query_one(f"#f-{f.key}", Input).add_class("-invalid-value")
            self.notify(in_app_words(str(exc)), severity="error", markup=False)
            return None

    def keep_report(self, report: dict) -> None:
        self.state["report"] = plain_json(report)
        self.capp.changed("", debounce=True)

    # --- actions every tool screen has -----------------------------------------------------------
    def action_run(self) -> None:
        """Run the screen's computation as a job."""

    def action_write(self) -> None:
        """Write the screen's outputs (versioned)."""
