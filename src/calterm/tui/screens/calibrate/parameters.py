"""Screen 1, calibration parameters: image, detector, calibrant, wavelength/energy, pixel size,
start distance and centre, rotate/flip, mask — Dioptas' start values, one line each.

A field applies as soon as it parses (and is saved at once) through the parser the command line
uses (:func:`calterm.inputs.calibrate.calibration_request`); a field that does not parse turns red,
one line under the form says why, and it changes nothing: while it stays invalid the calibration
does not start (``Session.invalid_fields``). Wavelength and energy are one value shown twice.
Wavelength, pixel size and distance are shown and typed in the app's unit system
(:mod:`calterm.tui.units`; ``u`` toggles PONI units), their labels naming the unit, and converted
exactly to the units the parser reads (Å, µm, mm). Detector and calibrant
have searchable lists (``d`` and ``l``: fuzzy search over pyFAI's registry and the user's files);
the side panel says what the detector resolves to and draws the calibrant's rings.
"""

from __future__ import annotations

import math
from dataclasses import fields as dataclass_fields

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Provider
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static

from calterm.core.common.calibrants import energy_keV
from calterm.errors import InputError
from calterm.inputs.calibrate import calibration_request
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.units import field_text, fmt, typed_in, unit
from calterm.tui.wording import in_app_words

# id, label, placeholder
FIELDS = (
    ("image", "Image", "path of the calibration image"),
    ("frame", "Frame", "0"),
    ("detector", "Detector", "auto (by image shape); d: list"),
    ("calibrant", "Calibrant", "LaB6, CeO2, ... or a .D file; l: list"),
    ("wavelength", "Wavelength Å", "e.g. 0.3344"),
    ("energy", "Energy keV", "e.g. 37.08"),
    ("pixel", "Pixel size µm", "detector's"),
    ("distance", "Distance mm", "start value"),
    ("center", "Centre x, y px", "start value: column, row"),
    ("mask", "Mask file", "none"),
    ("spline", "Spline file", "none (Fit2D distortion)"),
    ("sensor", "Sensor", "none; e.g. Si,450 (µm: parallax)"),
)
LABELS = {key: label for key, label, _ in FIELDS}
# field id -> the request builder's key (calterm.inputs.calibrate)
KEYS = {"pixel": "pixel_size"}
# field id -> (quantity shown in the app's units, the unit the builder reads); the label ends in the unit
UNIT_FIELDS = {"wavelength": ("wavelength", "Å"), "pixel": ("pixel", "µm"), "distance": ("distance", "mm")}


def field_label(field_id: str, units: str) -> str:
    """A field's label in the unit system: ``Distance mm``, or ``Distance m`` in PONI units."""
    if field_id not in UNIT_FIELDS:
        return LABELS[field_id]
    quantity, parser_unit = UNIT_FIELDS[field_id]
    return LABELS[field_id].removesuffix(parser_unit).rstrip() + " " + unit(quantity, units)
NOT_GEOMETRY = ("mask",)  # a start value changes the predicted rings; the mask does not


def _labeller(units: str):
    """How screen 1 calls a request field in an error (``Wavelength Å: ...``), in ``units``."""
    def label(builder_key: str) -> str:
        field_id = next((f for f, k in KEYS.items() if k == builder_key), builder_key)
        return field_label(field_id, units) if field_id in LABELS else builder_key

    return label


def _header_lines(facts, r, units: str = "mm") -> list[str]:
    """What the image header says, each fact marked as used (from header) or overridden by a field."""
    if not facts.found:
        return []
    told = []
    if facts.wavelength_A is not None:
        told.append(f"λ {field_text('wavelength', facts.wavelength_A, 'Å', units)} {unit('wavelength', units)}"
                    + (" (used)" if "wavelength_A" in r.from_header else ""))
    if facts.pixel_size_um is not None:
        told.append(f"pixel {field_text('pixel', facts.pixel_um, 'µm', units)} {unit('pixel', units)}")
    if facts.distance_mm is not None:
        told.append(f"distance {field_text('distance', facts.distance_mm, 'mm', units)} {unit('distance', units)}"
                    + (" (start)" if r.distance_mm is None else ""))
    if facts.center_xy is not None:
        told.append(f"centre {facts.center_xy[0]:.1f}, {facts.center_xy[1]:.1f}"
                    + (" (start)" if r.center_xy is None else ""))
    return [f"from header ({facts.source}): {', '.join(told)}"]


class ParametersScreen(CaltermScreen):
    MODE = "parameters"
    AUTO_FOCUS = ""  # nothing focused: single keys (c, 1-6) act at once; tab enters the form
    HELP = ("Start values of the calibration. A field applies as soon as it is valid (red: not valid). "
            "tab moves between fields, esc leaves a field, d/l open searchable detector/calibrant lists; "
            "u: wavelength, pixel size and distance in PONI units (m) or back in Å, µm, mm.")
    DEFAULT_CSS = """
    ParametersScreen #form { width: 50; }
    ParametersScreen Grid { grid-size: 2; grid-columns: 16 1fr; grid-rows: 1; height: auto; grid-gutter: 0 1; }
    ParametersScreen Label { height: 1; color: $text-muted; }
    ParametersScreen Input.-invalid-value { color: $error; text-style: bold; }
    ParametersScreen Input:focus { background: $panel; color: $accent; text-style: bold; }
    ParametersScreen #side { width: 1fr; padding: 0 1; }
    ParametersScreen #info { height: auto; }
    ParametersScreen #field-error { height: auto; max-height: 2; color: $error; text-style: bold; }
    """
    BINDINGS = [Binding("d", "choose_detector", "Detector"), Binding("l", "choose_calibrant", "Calibrant")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="field-error")  # why the red field is refused: one full-width line
        with Horizontal():
            with VerticalScroll(id="form", can_focus=False), Grid():
                for key, _label, placeholder in FIELDS:
                    yield Label(field_label(key, self.session.units), id=f"label-{key}")
                    yield Input(placeholder=placeholder, id=f"f-{key}", compact=True)
                yield Label("Rotate")
                yield Select([(f"{a}°", a) for a in (0, 90, 180, 270)], id="f-rotate", compact=True,
                             allow_blank=False, value=0)
                yield Label("Flip")
                yield Select([("none", ""), ("horizontal", "h"), ("vertical", "v")], id="f-flip",
                             compact=True, allow_blank=False, value="")
            with Vertical(id="side"):
                yield Static("", id="info")
                # the rings plot (plotext) is mounted after the first paint, see _described

    # --- session -> fields --------------------------------------------------------------------
    def on_session_changed(self, what: str) -> None:
        if what in ("all", "resume", "units"):
            self._fill()
        if what in ("all", "resume", "request", "units"):
            # after the first paint: describing imports pyFAI, which must not delay the first screen
            self.capp.after_first_frame(lambda: self.set_timer(0.2, self.describe))

    def _fill(self) -> None:
        r, u = self.session.request, self.session.units
        for key in UNIT_FIELDS:
            self.query_one(f"#label-{key}", Label).update(field_label(key, u))
        values = {
            "image": r.image_path, "frame": str(r.frame), "detector": r.detector or "", "calibrant": r.calibrant,
            "wavelength": field_text("wavelength", r.wavelength_m, "m", u, digits=6),
            "energy": f"{energy_keV(r.wavelength_m):.6g}",
            "pixel": field_text("pixel", r.pixel_size_um, "µm", u),
            "distance": field_text("distance", r.distance_mm, "mm", u),
            "center": "" if r.center_xy is None else f"{r.center_xy[0]:g}, {r.center_xy[1]:g}",
            "mask": r.mask_path or "",
            "spline": r.spline_path or "",
            "sensor": "" if not r.sensor else f"{r.sensor[0]},{r.sensor[1]:g}",
        }
        for key, value in values.items():
            field = self.query_one(f"#f-{key}", Input)
            with field.prevent(Input.Changed):
                field.value = value
            field.remove_class("-invalid-value")
            self.session.invalid_fields.pop(f"f-{key}", None)
        self._show_error()
        with self.query_one("#f-rotate", Select).prevent(Select.Changed):
            self.query_one("#f-rotate", Select).value = r.rotate
        with self.query_one("#f-flip", Select).prevent(Select.Changed):
            self.query_one("#f-flip", Select).value = r.flip or ""

    # --- fields -> session --------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "")[2:]
        if key not in LABELS:
            return
        r, u = self.session.request, self.session.units
        typed = event.value
        if key in UNIT_FIELDS:  # typed in the unit shown; the parser reads Å, µm, mm
            typed = typed_in(UNIT_FIELDS[key][0], typed, u, UNIT_FIELDS[key][1])
        try:
            new = calibration_request({KEYS.get(key, key): typed}, base=r, name=_labeller(u))
        except InputError as exc:
            event.input.add_class("-invalid-value")
            self.session.invalid_fields[f"f-{key}"] = str(exc)
            self._show_error()
            return
        partners = ("wavelength", "energy") if key in ("wavelength", "energy") else (key,)
        for name in partners:  # wavelength and energy are one value: a valid one mends both
            self.query_one(f"#f-{name}", Input).remove_class("-invalid-value")
            self.session.invalid_fields.pop(f"f-{name}", None)
        self._show_error()
        changes = {f.name: getattr(new, f.name) for f in dataclass_fields(new)
                   if getattr(new, f.name) != getattr(r, f.name)}
        if not changes:
            return
        if key in ("wavelength", "energy"):
            other = self.query_one("#f-energy" if key == "wavelength" else "#f-wavelength", Input)
            with other.prevent(Input.Changed):
                other.value = (f"{energy_keV(new.wavelength_m):.6g}" if key == "wavelength"
                               else field_text("wavelength", new.wavelength_m, "m", u, digits=6))
        if key == "image":
            self.session.result = None
            self.session.demo = False
            if "wavelength_m" in changes:  # the new image's header states its wavelength: shown, overridable
                for name, text in (("wavelength", field_text("wavelength", new.wavelength_m, "m", u, digits=6)),
                                   ("energy", f"{energy_keV(new.wavelength_m):.6g}")):
                    with self.query_one(f"#f-{name}", Input).prevent(Input.Changed):
                        self.query_one(f"#f-{name}", Input).value = text
        self.capp.update_request("request", geometry=key not in NOT_GEOMETRY, **changes)

    def _show_error(self) -> None:
        """The first refused field's reason under the form (empty when every field is valid)."""
        mine = [m for f, m in self.session.invalid_fields.items() if f.startswith("f-")]
        self.query_one("#field-error", Static).update(Text(mine[0] if mine else ""))  # not markup

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-rotate" and event.value != self.session.request.rotate:
            self.session.result = None
            self.capp.update_request("request", geometry=True, rotate=int(event.value))
        elif event.select.id == "f-flip" and (event.value or None) != self.session.request.flip:
            self.session.result = None
            self.capp.update_request("request", geometry=True, flip=event.value or None)

    # --- side panel: what the detector and calibrant resolve to --------------------------------
    @work(thread=True, exclusive=True, group="describe")
    def describe(self) -> None:
        r, u = self.session.request, self.session.units
        lines, rings, title = [], [], "calibrant rings"
        try:
            from calterm.core.common.calibrants import load_calibrant

            cal = load_calibrant(r.calibrant)
            tth = [math.degrees(t) for t in cal.two_theta_rad(r.wavelength_m)]
            rings = tth[:40]
            title = f"{cal.name}: {len(tth)} rings, first at {tth[0]:.3f}° 2θ" if tth else cal.name
        except Exception as exc:
            lines.append(f"[red]calibrant: {exc}[/red]")
        if r.image_path:
            try:
                from calterm.core.common.detectors import resolve_detector
                from calterm.core.io.headers import header_facts
                from calterm.core.io.images import read_array

                shape = read_array(r.image_path, r.frame)[0].shape[-2:]
                if r.rotate in (90, 270):
                    shape = shape[::-1]
                facts = header_facts(r.image_path, r.frame)
                choice = resolve_detector(shape, r.detector, r.pixel_size_um, header=facts)
                p1, p2 = choice.pixel_size_um
                lines.append(f"image {shape[1]} x {shape[0]} px (x × y)")
                lines.append(f"detector [b]{choice.name}[/b] ({choice.how}"
                             + (f"; {choice.reason}" if choice.reason else "")
                             + f"), pixel {fmt('pixel', p1, u, from_unit='µm')} × "
                             f"{fmt('pixel', p2, u, from_unit='µm', unit_too=True)}")
                lines.extend(_header_lines(facts, r, u))
                if choice.alternatives:
                    lines.append(f"[dim]also this shape: {', '.join(choice.alternatives[:4])}[/dim]")
            except Exception as exc:
                lines.append(f"[red]{in_app_words(str(exc))}[/red]")
        lines.append(f"λ {fmt('wavelength', r.wavelength_m, u, unit_too=True)} = "
                     f"{fmt('energy', energy_keV(r.wavelength_m), u, unit_too=True)}")
        self.call_later(self._described, "\n".join(lines), rings, title)

    def _described(self, info: str, rings: list[float], title: str) -> None:
        from calterm.tui.widgets.calibrant_rings import CalibrantRings

        self.query_one("#info", Static).update(info)
        plots = self.query(CalibrantRings)
        if not plots:
            self.query_one("#side").mount(CalibrantRings(id="rings"))
            plots = self.query(CalibrantRings)
        plots.first().show(rings, title)

    # --- searchable lists ---------------------------------------------------------------------
    def action_choose_detector(self) -> None:
        self._choose("detector", "Search pyFAI's detectors…")

    def action_choose_calibrant(self) -> None:
        self._choose("calibrant", "Search calibrants…")

    @work(thread=True, exclusive=True, group="choose")
    def _choose(self, key: str, placeholder: str) -> None:
        if key == "detector":
            from calterm.core.common.detectors import registered_names

            names = ["auto", *registered_names()]
        else:
            from calterm.core.common.calibrants import registered_names, user_calibrant_dir

            user = sorted(p.name for p in user_calibrant_dir().glob("*.D")) if user_calibrant_dir().is_dir() else []
            names = [*user, *registered_names()]
        self.call_later(self._show_choices, key, names, placeholder)

    def _show_choices(self, key: str, names: list[str], placeholder: str) -> None:
        field = self.query_one(f"#f-{key}", Input)

        def pick(name: str) -> None:
            field.value = "" if name == "auto" else name  # Input.Changed applies it

        from textual.command import CommandPalette

        class Names(Provider):
            async def discover(self):
                for name in names:
                    yield DiscoveryHit(name, partial_pick(name))

            async def search(self, query: str):
                matcher = self.matcher(query)
                for name in names:
                    score = matcher.match(name)
                    if score > 0:
                        yield Hit(score, matcher.highlight(name), partial_pick(name))

        def partial_pick(name: str):
            return lambda: pick(name)

        self.app.push_screen(CommandPalette(providers=[Names], placeholder=placeholder))
