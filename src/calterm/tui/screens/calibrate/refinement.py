"""Screen 3, refinement options: which of the seven PONI parameters are free and their bounds,
and how rings are extracted (Dioptas' refinement options).

Bounds are typed in the app's unit system (:mod:`calterm.tui.units`: mm and mrad, or PONI units
with ``u``), each row labelled with its unit, and converted exactly to the PONI units the fit and
the PONI file use; an empty bound means unbounded. Every valid edit applies at once and is saved;
the fields are read by the command line's parser
(:func:`calterm.inputs.calibrate.calibration_request`), and a refused one turns red, says why in
one line (in the numbers as typed) and blocks the calibration until it is mended.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Select, Static

from calterm.core.calibrate.model import PEAK_METHODS
from calterm.core.common.geometry import PARAMS
from calterm.errors import InputError
from calterm.inputs.calibrate import calibration_request, parse_bound
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.units import PARAM_QUANTITY, field_text, header, typed_in, unit
from calterm.tui.widgets.checkbox import Checkbox

# id, label, request field, the request builder's key (calterm.inputs.calibrate), placeholder
OPTIONS = (
    ("delta", "Δ2θ window °", "delta_2th_deg", "delta_2th", "adaptive"),
    ("imin", "I min factor", "i_min_factor", "i_min_factor", "0.1"),
    ("imax", "I max", "i_max", "i_max", "none (no saturation)"),
    ("rings", "Number of rings", "rings", "rings", "all resolved"),
    ("search", "Search size px", "search_size_px", "search_size", "10"),
)
LABELS = {builder: label for _id, label, _field, builder, _ in OPTIONS} | {"bound": "Bounds", "fix": "Fixed",
                                                                           "free": "Fixed"}


class RefinementScreen(CaltermScreen):
    MODE = "refinement"
    AUTO_FOCUS = ""
    HELP = ("Fix or free each geometry parameter and bound it (in the units shown, u: PONI units; empty = "
            "unbounded); choose how rings are searched. tab moves between fields, space toggles a box.")
    DEFAULT_CSS = """
    RefinementScreen #params { grid-size: 4; grid-columns: 18 10 1fr 1fr; grid-rows: 1; height: auto;
                               grid-gutter: 0 1; }
    RefinementScreen #options { grid-size: 2; grid-columns: 18 1fr; grid-rows: 1; height: auto;
                                grid-gutter: 0 1; margin-top: 1; }
    RefinementScreen Label { height: 1; color: $text-muted; }
    RefinementScreen Checkbox { height: 1; border: none; padding: 0; }
    RefinementScreen Input.-invalid-value { color: $error; text-style: bold; }
    RefinementScreen Input:focus { background: $panel; color: $accent; text-style: bold; }
    RefinementScreen .head { color: $accent; text-style: bold; }
    RefinementScreen #field-error { height: auto; max-height: 2; color: $error; text-style: bold; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("", id="field-error")  # why the red field is refused: one full-width line
        with VerticalScroll(can_focus=False):
            with Grid(id="params"):
                for head in ("parameter", "fixed", "lower bound", "upper bound"):
                    yield Static(head, classes="head")
                for name in PARAMS:
                    yield Label(header(name, PARAM_QUANTITY[name], self.session.units), id=f"unit-{name}")
                    yield Checkbox("fix", id=f"fix-{name}", compact=True)
                    yield Input(placeholder="-inf", id=f"lo-{name}", compact=True)
                    yield Input(placeholder="+inf", id=f"hi-{name}", compact=True)
            with Grid(id="options"):
                yield Label("Automatic refinement")
                yield Checkbox("extract more rings, refit", id="auto", compact=True)
                yield Label("Grow typed points")
                yield Checkbox("into whole rings", id="grow", compact=True)
                yield Label("Use mask")
                yield Checkbox("the mask file of screen 1", id="use-mask", compact=True)
                yield Label("Peak search")
                yield Select([(m, m) for m in PEAK_METHODS], id="method", compact=True, allow_blank=False,
                             value=PEAK_METHODS[0])
                for key, label, _field, _kind, placeholder in OPTIONS:
                    yield Label(label)
                    yield Input(placeholder=placeholder, id=f"opt-{key}", compact=True)

    def on_session_changed(self, what: str) -> None:
        if what not in ("all", "resume", "units"):
            return
        s = self.session
        r = s.request
        for name in PARAMS:
            self.query_one(f"#unit-{name}", Label).update(header(name, PARAM_QUANTITY[name], s.units))
            box = self.query_one(f"#fix-{name}", Checkbox)
            with box.prevent(Checkbox.Changed):
                box.value = name in r.constraints.fixed
            lo, hi = r.constraints.bounds.get(name, (None, None))
            for prefix, v in (("lo", lo), ("hi", hi)):
                field = self.query_one(f"#{prefix}-{name}", Input)
                with field.prevent(Input.Changed):
                    field.value = field_text(PARAM_QUANTITY[name], v, _base_unit(name), s.units)
                field.remove_class("-invalid-value")
        for wid in [w for w in s.invalid_fields if w.startswith(("lo-", "hi-", "opt-"))]:
            s.invalid_fields.pop(wid)  # refilled from the request: valid again
        self._show_error()
        for wid, value in (("auto", r.auto_refine), ("grow", r.grow_points), ("use-mask", s.use_mask)):
            box = self.query_one(f"#{wid}", Checkbox)
            with box.prevent(Checkbox.Changed):
                box.value = value
        method = self.query_one("#method", Select)
        with method.prevent(Select.Changed):
            method.value = r.peak_method
        for key, _label, field_name, _kind, _ in OPTIONS:
            field = self.query_one(f"#opt-{key}", Input)
            v = getattr(r, field_name)
            with field.prevent(Input.Changed):
                field.value = "" if v is None else f"{v:g}"
            field.remove_class("-invalid-value")

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        wid = event.checkbox.id or ""
        r = self.session.request
        if wid.startswith("fix-"):
            name = wid[4:]
            new = calibration_request({"fix" if event.value else "free": [name]}, base=r)
            self.capp.update_request(constraints=new.constraints)
        elif wid == "auto":
            self.capp.update_request(auto_refine=event.value)
        elif wid == "grow":
            self.capp.update_request(grow_points=event.value)
        elif wid == "use-mask":
            self.session.use_mask = event.value
            self.capp.changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "method" and event.value != self.session.request.peak_method:
            self.capp.update_request(peak_method=str(event.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        r = self.session.request
        if wid.startswith(("lo-", "hi-")):
            name = wid[3:]
            shown = (self.query_one(f"#lo-{name}", Input).value, self.query_one(f"#hi-{name}", Input).value)
            quantity, u = PARAM_QUANTITY[name], self.session.units
            typed = {"bound": {name: tuple(typed_in(quantity, t, u, _base_unit(name)) for t in shown)}}
            mended = [f"#lo-{name}", f"#hi-{name}"]
            try:  # first in the numbers as typed, so that a refusal quotes them in the unit shown
                parse_bound(name, *shown)
            except InputError as exc:
                self._refuse(event.input, wid, f"{LABELS['bound']} in {unit(quantity, u)}: {exc}")
                return
        else:
            option = next((o for o in OPTIONS if wid == f"opt-{o[0]}"), None)
            if option is None:
                return
            typed, mended = {option[3]: event.value}, [f"#{wid}"]
        try:
            new = calibration_request(typed, base=r, name=lambda key: LABELS.get(key, key))
        except InputError as exc:
            self._refuse(event.input, wid, str(exc))
            return
        for selector in mended:
            self.query_one(selector, Input).remove_class("-invalid-value")
            self.session.invalid_fields.pop(selector[1:], None)
        self._show_error()
        changes = {k: getattr(new, k) for k in ("constraints", *(o[2] for o in OPTIONS)) if getattr(new, k) != getattr(r, k)}
        if changes:
            self.capp.update_request(**changes)

    def _refuse(self, field: Input, wid: str, why: str) -> None:
        field.add_class("-invalid-value")
        self.session.invalid_fields[wid] = why
        self._show_error()

    def _show_error(self) -> None:
        """The first refused field's reason (empty when every field here is valid)."""
        mine = [m for w, m in self.session.invalid_fields.items() if w.startswith(("lo-", "hi-", "opt-"))]
        self.query_one("#field-error", Static).update(Text(mine[0] if mine else ""))


def _base_unit(name: str) -> str:
    """The unit the request holds a parameter's bounds in: PONI's (m, rad)."""
    return "rad" if PARAM_QUANTITY[name] == "rotation" else "m"
