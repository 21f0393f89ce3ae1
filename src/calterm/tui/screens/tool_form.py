"""What the detector-health and gain screens share: a form of labelled fields saved as typed, a run
and a write action, and the last report kept in the session.

Each screen declares its fields once (:class:`Field`); the form lays them out two to a row (paths
take a whole row), restores them from ``session.tools[MODE]["inputs"]`` and saves every keystroke
(debounced), so a dropped SSH connection loses nothing typed. ``enter`` in any field runs the
screen's computation, as does ``r`` outside a field; ``w`` writes its outputs. Values stay text
until a run parses them, so a half-typed number is never an error until it is used.

Parsing is not done here: each screen hands its values to :mod:`calterm.inputs` (the parser the CLI
uses too) with :meth:`ToolScreen.field_name`, so an error names the field as the screen labels it.

A field with a ``quantity`` (a wavelength, a distance, a 2θ) is typed in the app's unit system
(:mod:`calterm.tui.units`; ``u`` toggles PONI units): its label and hint name the unit shown, and
the session keeps the text in the default system's unit, which is the one the parser reads (Å, mm,
µm, °). A value typed in PONI units is converted exactly once (0.41025 m is kept as 410.25 mm), and
a field shown from the session hands back the kept text itself, so a toggle never changes a value;
what was typed in PONI units is remembered as typed (``state["typed"]``), so a 2θ typed in radians
comes back as typed, not as its conversion to degrees and back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Input, Label

from calterm.core.common.jsonable import plain_json
from calterm.errors import InputError
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.units import MM, convert_parts, unit
from calterm.tui.widgets.checkbox import Checkbox
from calterm.tui.wording import in_app_words


@dataclass(frozen=True)
class Field:
    key: str
    label: str  # as the default unit system shows it ("Wavelength Å")
    default: str | bool = ""
    placeholder: str | Callable[[str], str] = ""  # or the hint in a unit system ("mm per image …")
    wide: bool = False  # a whole row (paths, globs)
    quantity: str = ""  # typed in the app's units (a calterm.tui.units quantity); "" for none

    def shown_label(self, units: str) -> str:
        """The label in ``units``: a label ending in the default unit ends in the shown one
        (``Range 2θ°`` -> ``Range 2θ rad``); one without a unit (its hint names it) stays."""
        if not self.quantity:
            return self.label
        kept, shown = unit(self.quantity, MM), unit(self.quantity, units)
        if shown == kept or not self.label.endswith(kept):
            return self.label
        return self.label.removesuffix(kept).rstrip() + " " + shown

    def hint(self, units: str) -> str:
        return self.placeholder(units) if callable(self.placeholder) else self.placeholder

    def shown_text(self, kept: str, units: str) -> str:
        """The session's text (in the default unit) as the field shows it in ``units``."""
        if not self.quantity or unit(self.quantity, units) == unit(self.quantity, MM):
            return kept
        return convert_parts(kept, unit(self.quantity, MM), unit(self.quantity, units))

    def kept_text(self, typed: str, units: str) -> str:
        """Text typed in ``units`` as the session keeps it (the default unit, the parser's)."""
        if not self.quantity or unit(self.quantity, units) == unit(self.quantity, MM):
            return typed  # as typed, spaces and all
        return convert_parts(typed, unit(self.quantity, units), unit(self.quantity, MM))


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
            units = self.session.units
            for f in fields or self.FIELDS:
                yield Label(f.shown_label(units), id=f"label-{f.key}")
                if isinstance(f.default, bool):
                    yield Checkbox("", id=f"f-{f.key}", compact=True, classes="wide" if f.wide else "")
                else:
                    yield Input(placeholder=f.hint(units), id=f"f-{f.key}", compact=True,
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
        elif what == "units":
            self.relabel()
            self.restore_form()
            self.on_units()

    def on_units(self) -> None:
        """The unit system changed (``u``): screens redraw what they show in it (the form is done)."""

    def relabel(self) -> None:
        """Labels and hints of the fields typed in units, in the session's unit system."""
        units = self.session.units
        for f in self.FIELDS:
            if f.quantity:
                self.query_one(f"#label-{f.key}", Label).update(f.shown_label(units))
                self.query_one(f"#f-{f.key}", Input).placeholder = f.hint(units)

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
                shown = self._shown(f, str(value))
                if field.value != shown:
                    with field.prevent(Input.Changed):
                        field.value = shown

    def values(self) -> dict[str, str | bool]:
        """Every field's text as the parser reads it (fields in units: in the default system's)."""
        out: dict[str, str | bool] = {}
        for f in self.FIELDS:
            if isinstance(f.default, bool):
                out[f.key] = self.query_one(f"#f-{f.key}", Checkbox).value
            else:
                out[f.key] = self._kept(f, self.query_one(f"#f-{f.key}", Input).value.strip())
        return out

    def _shown(self, f: Field, kept: str) -> str:
        """The field's text for the kept ``kept``: as typed when it was typed in these units."""
        units = self.session.units
        typed = self.state.get("typed", {}).get(f.key)
        if f.quantity and typed and typed[0] == units and f.kept_text(typed[1], units) == kept:
            return typed[1]
        return f.shown_text(kept, units)

    def _kept(self, f: Field, typed: str) -> str:
        """``typed`` in the parser's unit: the session's own text when the field shows it (a
        conversion to degrees and back is not exact), else the typed text converted."""
        if not f.quantity:
            return typed
        units = self.session.units
        kept = self.state.get("inputs", {}).get(f.key, self.default_for(f))
        if self._shown(f, str(kept)) == typed:
            return str(kept).strip()
        return f.kept_text(typed, units)

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
            f, units = self._field(wid[2:]), self.session.units
            if f is not None and f.quantity:  # typed in units: kept in the parser's, remembered as typed
                self.state.setdefault("typed", {})[f.key] = [units, event.value]
            self._typed(wid[2:], event.value if f is None else f.kept_text(event.value, units))

    def _field(self, key: str) -> Field | None:
        return next((f for f in self.FIELDS if f.key == key), None)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        wid = event.checkbox.id or ""
        if wid.startswith("f-"):
            self._typed(wid[2:], event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").startswith("f-"):
            self.action_run()

    def field_name(self, key: str) -> str:
        """What this screen calls field ``key`` (its label), for :mod:`calterm.inputs`' errors."""
        f = self._field(key)
        return key if f is None else f.shown_label(self.session.units)

    def parse(self, parser):
        """``parser(values)`` with a bad field shown as one line (and red, when its key is named)."""
        try:
            return parser(self.values())
        except InputError as exc:
            key = str(exc).split(":", 1)[0]
            for f in self.FIELDS:
                if f.shown_label(self.session.units) == key and not isinstance(f.default, bool):
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
