"""Joint calibration (``calterm calibrate-many`` in the app): several images, each with its own
calibrant and start distance, one parameter model picked per parameter, and the wavelength refined
where the model makes it identifiable (linked distances with a known travel).

Setup: type a path or a glob in *Add images* (enter adds; the session's image is there at first),
the highlighted image's *Calibrant* and *Distance mm* below the list, the travel *Δ mm* (one per
image, or ``header``). Model: arrows and enter/space pick shared, per image, linked or fixed per
parameter ([x] / [ ]). ``r`` runs (each image's own calibration, then one fit over all points; esc
cancels), ``w`` writes one PONI per image next to the images (versioned), ``t`` cycles the tabs.
Every field goes through :mod:`calterm.inputs.joint`, the CLI's parser. Wavelength, pixel size,
travel and start distances are typed and shown in the app's unit system (``u``: PONI units, m), and
kept as the parser reads them (Å, µm, mm); the results follow the toggle without a new fit.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Static, TabbedContent, TabPane

from calterm.errors import InputError
from calterm.tui.screens.many import joint_view as view
from calterm.tui.screens.tool_form import Field, ToolScreen
from calterm.tui.units import convert_parts, unit

KEY_INPUTS = ("images", "model", "wavelength", "pixel_size", "detector", "travel")


class JointScreen(ToolScreen):
    MODE = "joint"
    AUTO_FOCUS = ""
    HELP = ("Several images calibrated together: add images (path or glob, enter), give each its calibrant "
            "and start distance, pick the model per parameter (Model tab: enter/space), type the travel Δ to "
            "link the distances (then λ is refined). r runs (esc cancels), w writes one PONI per image next "
            "to the images, t cycles Setup / Model / Results.")
    FIELDS = (
        Field("add", "Add images", "", "path or glob; enter adds", wide=True),
        Field("wavelength", "Wavelength Å", "", "start value", quantity="wavelength"),
        Field("pixel_size", "Pixel µm", "", "header", quantity="pixel"),
        Field("travel", "Δ travel", "", view.travel_hint, wide=True, quantity="distance"),
        Field("detector", "Detector", "", "auto"),
    )
    DEFAULT_CSS = """
    JointScreen #joint-lambda { height: 1; padding: 0 1; }
    JointScreen #joint-field-error { height: auto; max-height: 2; padding: 0 1; color: $error; }
    JointScreen TabbedContent { height: 1fr; }
    JointScreen TabPane { padding: 0; }
    JointScreen #joint-images { height: 1fr; min-height: 3; }
    JointScreen #joint-model { height: 1fr; }
    JointScreen #joint-results { height: 1fr; }
    JointScreen #joint-summary { height: auto; max-height: 4; padding: 0 1; }
    JointScreen Horizontal.row { height: 1; padding: 0 1; }
    JointScreen Horizontal.row Label { width: 13; color: $text-muted; }
    JointScreen Horizontal.row Input { width: 1fr; }
    """
    BINDINGS = [
        Binding("delete", "remove_image", "Remove", show=False),
        Binding("t", "next_tab", "Tab"),
        Binding("space", "pick_mode", "Pick", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="joint-lambda")
        yield Static("", id="joint-field-error")
        with TabbedContent(id="joint-tabs"):
            with TabPane("Setup", id="joint-setup"):
                yield from self.compose_form()
                yield DataTable(id="joint-images", cursor_type="row", zebra_stripes=True)
                with Horizontal(classes="row"):
                    yield Label("Calibrant")
                    yield Input(placeholder="of the highlighted image", id="j-calibrant", compact=True)
                    yield Label(" " + view.distance_label(self.session.units), id="j-distance-label")
                    yield Input(placeholder="start (optional)", id="j-distance", compact=True)
            with TabPane("Model", id="joint-model-tab"):
                yield DataTable(id="joint-model", cursor_type="cell")
            with TabPane("Results", id="joint-results-tab"):
                yield Static("no joint fit yet: r runs it", id="joint-summary")
                yield DataTable(id="joint-results", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.result = None
        self.request = None
        self.query_one("#joint-model", DataTable).add_columns("parameter", *(view.MODE_LABELS[m] for m in view.MODES))
        self._add_unit_columns()

    def _add_unit_columns(self) -> None:
        """The headers that name a unit, in the session's system (again after ``u``)."""
        units = self.session.units
        self.query_one("#joint-images", DataTable).add_columns("#", "image", "calibrant", f"dist {unit('distance', units)}")
        self.query_one("#joint-results", DataTable).add_columns(*view.image_columns(units))

    def on_units(self) -> None:
        for table_id in ("#joint-images", "#joint-results"):
            self.query_one(table_id, DataTable).clear(columns=True)
        self._add_unit_columns()
        self.query_one("#j-distance-label", Label).update(" " + view.distance_label(self.session.units))
        self._fill_images()
        report = self.state.get("report")
        if report:
            self._show_report(report, restored=self.result is None)
        else:  # none, or dropped as stale: no numbers from inputs that changed since
            self.query_one("#joint-summary", Static).update("no joint fit yet: r runs it")

    def _distance_shown(self, kept: str) -> str:
        """A start distance as the session keeps it (mm) in the session's unit."""
        return convert_parts(kept, "mm", unit("distance", self.session.units))

    def default_for(self, f: Field) -> str | bool:
        r = self.session.request
        if f.key == "wavelength":
            return f"{r.wavelength_m * 1e10:.6g}"
        if f.key == "pixel_size" and r.pixel_size_um:
            return f"{r.pixel_size_um:g}"
        if f.key == "detector" and r.detector:
            return r.detector
        return f.default

    def on_restored(self, what: str) -> None:
        inputs = self.state.setdefault("inputs", {})
        if "images" not in inputs:  # the session's image is where a joint fit usually starts
            r = self.session.request
            inputs["images"] = ([{"path": r.image_path, "calibrant": r.calibrant, "distance": ""}]
                                if r.image_path else [])
        self._fill_images()
        self._fill_model()
        report = self.state.get("report")
        if report and self.result is None:
            self._show_report(report, restored=True)

    # --- images -------------------------------------------------------------------------------
    @property
    def images(self) -> list[dict]:
        return self.state.setdefault("inputs", {}).setdefault("images", [])

    @property
    def modes(self) -> dict[str, str]:
        return self.state.setdefault("inputs", {}).setdefault("model", dict(view.DEFAULT_MODES))

    def _fill_images(self) -> None:
        table = self.query_one("#joint-images", DataTable)
        row = table.cursor_row
        table.clear()
        for k, im in enumerate(self.images, start=1):
            table.add_row(str(k), Path(im["path"]).name, im.get("calibrant", ""),
                          self._distance_shown(im.get("distance", "")) or "-")
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))
        self._show_highlighted()
        self._say_lambda()

    def _highlighted(self) -> int | None:
        table = self.query_one("#joint-images", DataTable)
        if not self.images:
            return None
        return min(max(table.cursor_row, 0), len(self.images) - 1)

    def _show_highlighted(self) -> None:
        k = self._highlighted()
        for key in ("calibrant", "distance"):
            field = self.query_one(f"#j-{key}", Input)
            value = "" if k is None else str(self.images[k].get(key, ""))
            if key == "distance":
                value = self._distance_shown(value)
            if field.value != value:
                with field.prevent(Input.Changed):
                    field.value = value

    @on(DataTable.RowHighlighted, "#joint-images")
    def _image_highlighted(self) -> None:
        self._show_highlighted()

    @on(Input.Changed, "#j-calibrant, #j-distance")
    def _per_image_typed(self, event: Input.Changed) -> None:
        k = self._highlighted()
        if k is None:
            return
        key = (event.input.id or "")[2:]
        typed = event.value.strip()
        # a distance typed in the shown unit is kept in mm (the parser's), converted exactly
        self.images[k][key] = typed if key == "calibrant" else convert_parts(typed, unit("distance", self.session.units), "mm")
        table = self.query_one("#joint-images", DataTable)
        table.update_cell_at((k, 2 if key == "calibrant" else 3), typed or "-")
        self.capp.changed("", debounce=True)

    def action_add_images(self) -> None:
        from calterm.inputs.series import series_paths

        text = str(self.values()["add"])
        if not text:
            self.say("Add images: type a path or a glob, then enter")
            return
        try:
            paths = series_paths(text)  # the CLI's glob expansion (natural order)
        except InputError as exc:
            self.say(view.app_words(str(exc), self.session.units).replace("IMAGES:", "Add images:"), "add")
            return
        paths = [str(Path(p).absolute()) for p in paths]  # the list outlives the working directory
        known = {str(Path(im["path"]).absolute()) for im in self.images}
        calibrant = self.images[-1].get("calibrant") if self.images else self.session.request.calibrant
        added = [p for p in paths if p not in known]
        self.images.extend({"path": p, "calibrant": calibrant or "", "distance": ""} for p in added)
        self.set_value("add", "")
        self._fill_images()
        self.capp.changed("")
        self.say("")
        self.notify(f"{len(added)} image(s) added, {len(self.images)} in the list")

    def action_remove_image(self) -> None:
        k = self._highlighted()
        if k is not None and self.query_one("#joint-images", DataTable).has_focus:
            del self.images[k]
            self._fill_images()
            self.capp.changed("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "f-add":
            event.prevent_default()
            self.action_add_images()
        elif (event.input.id or "").startswith(("f-", "j-")):
            self.action_run()

    def on_field_changed(self, key: str) -> None:
        if key == "travel":
            self._say_lambda()

    # --- the model picker ---------------------------------------------------------------------
    def _fill_model(self) -> None:
        table = self.query_one("#joint-model", DataTable)
        at = table.cursor_coordinate
        table.clear()
        for p in view.PARAMS:
            table.add_row(view.PARAM_LABELS[p], *(Text(view.mark(self.modes, p, m)) for m in view.MODES))
        table.cursor_coordinate = at
        self._say_lambda()

    def _say_lambda(self) -> None:
        travel = str(self.state.get("inputs", {}).get("travel", ""))
        self.query_one("#joint-lambda", Static).update(view.lambda_line(self.modes, travel, self.session.units))

    @on(DataTable.CellSelected, "#joint-model")
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        self._pick(event.coordinate.row, event.coordinate.column)

    def action_pick_mode(self) -> None:
        table = self.query_one("#joint-model", DataTable)
        if table.has_focus:
            self._pick(table.cursor_coordinate.row, table.cursor_coordinate.column)

    def _pick(self, row: int, column: int) -> None:
        if column < 1 or row >= len(view.PARAMS):
            return
        param, mode = view.PARAMS[row], view.MODES[column - 1]
        if not view.allowed(param, mode):
            self.notify(f"{view.PARAM_LABELS[param]} cannot be {view.MODE_LABELS[mode]}", severity="warning")
            return
        self.modes[param] = mode
        self._fill_model()
        self.capp.changed("", debounce=True)

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        ids = ("joint-setup", "joint-model-tab", "joint-results-tab")
        tabs.active = ids[(ids.index(tabs.active) + 1) % len(ids)] if tabs.active in ids else ids[0]

    # --- one line for bad input ----------------------------------------------------------------
    def say(self, message: str, key: str | None = None) -> None:
        """A bad field: its message in one line under the λ line, the field red; '' clears it."""
        self.query_one("#joint-field-error", Static).update(message)
        for f in self.FIELDS:
            field = self.query_one(f"#f-{f.key}", Input)
            field.set_class(f.key == key, "-invalid-value")

    # --- run ----------------------------------------------------------------------------------
    def action_run(self) -> None:
        from calterm.inputs.joint import joint_request
        from calterm.inputs.values import FieldError

        fields = view.joint_fields(self.images, self.values(), self.modes)
        try:
            request = joint_request(fields)
        except InputError as exc:
            key = exc.field if isinstance(exc, FieldError) else None
            if key is None and str(exc).startswith("IMAGE"):
                key = "add"
            self.say(view.app_words(str(exc), self.session.units), key)
            return
        self.say("")
        self.request = request
        from calterm.tui.session import tool_key

        inputs = self.state.setdefault("inputs", {})
        values = self.values()
        inputs.update({k: values[k] for k in KEY_INPUTS if k in values})  # as run, even if typed a moment ago
        self._run_key = tool_key({k: inputs.get(k) for k in KEY_INPUTS})  # a copy: what this run came from

        def job(ctx):
            from calterm.core.joint.calibrate_many import calibrate_many

            return calibrate_many(request, ctx)

        if self.capp.jobs.start("Joint calibration", job, owner=self, kind="joint") is not None:
            self.query_one("#joint-summary", Static).update(f"calibrating {len(request.images)} images… (esc cancels)")

    def on_job_done(self, message) -> None:
        if message.kind == "joint":
            self.result = message.result
            report = view.joint_report(message.result)
            self.state["key"] = self._run_key  # the report drops when these inputs change (Session.drop_stale)
            self.keep_report(report)
            self.capp.changed("")  # saved now, not in 0.3 s: a quit right after keeps it
            self._show_report(report)
            self.query_one(TabbedContent).active = "joint-results-tab"
        elif message.kind == "joint-write":
            self.session.outputs["joint_ponis"] = message.result
            self.capp.changed("")
            self.notify(f"{len(message.result)} PONI files written: "
                        + ", ".join(Path(p).name for p in message.result), markup=False)

    def on_job_failed(self, message) -> None:
        if message.kind == "joint":
            self.query_one("#joint-summary", Static).update(f"[b]failed[/b]: {message.message}")

    def on_job_cancelled(self, message) -> None:
        if message.kind == "joint":
            self.query_one("#joint-summary", Static).update("cancelled: r runs it again")

    def _show_report(self, report: dict, restored: bool = False) -> None:
        lines = view.summary_lines(report, self.session.units)
        if restored:
            lines.append("[dim](restored: r recomputes before w writes)[/]")
        self.query_one("#joint-summary", Static).update("\n".join(lines))
        table = self.query_one("#joint-results", DataTable)
        table.clear()
        for row in report["images"]:
            table.add_row(*view.image_cells(row, self.session.units))

    # --- write --------------------------------------------------------------------------------
    def action_write(self) -> None:
        result, request = self.result, self.request
        if result is None or request is None:
            self.notify("nothing to write: r runs the joint calibration first", severity="warning")
            return
        if not result.ok:
            self.notify(f"not written: the joint fit is doubtful ({'; '.join(result.reasons)})", severity="error",
                        markup=False)
            return
        from calterm.core.joint.calibrate_many import poni_paths
        from calterm.inputs.values import output_path

        names = poni_paths(request, ".")  # one name per image (numbered when two share a name)
        try:
            paths = [output_path(Path(r.image_path.split("::", 1)[0]).parent / n.name, "poni")
                     for r, n in zip(request.images, names, strict=True)]
        except InputError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return

        def job(ctx):
            from calterm.core.joint.calibrate_many import write_ponis

            ctx.report("writing one PONI per image")
            return write_ponis(result, paths, "calterm tui joint")

        self.capp.jobs.start("Write PONIs", job, owner=self, kind="joint-write")
