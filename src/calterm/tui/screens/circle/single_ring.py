"""Screen 6, single ring (MuscleX's calibration settings), at parity with ``calterm circle``: points
on one ring or the ring found automatically, a robust circle fit, a fixed centre, the scale (by
parameters: λ, distance, pixel size -> d; or d -> distance), per-point residuals and the history.

The cursor is the same as on the points screen; ``enter`` adds the cursor position, typed
``x, y`` adds exactly there, ``f`` fits the points, ``a`` (or the button) finds the ring itself
(seeded by a typed radius, else by the cursor: see :mod:`.circle_jobs`), ``e`` exports the
history as CSV next to the image. Both fits are jobs (progress in the job bar, esc cancels).
What is typed is read by :func:`calterm.inputs.circle.circle_screen_inputs` (the CLI's parser),
kept in ``session.tools["circle"]["inputs"]`` as typed and saved on every keystroke; a field it
refuses turns red and blocks the fits. The table shows the positions the fit used (each point
moved onto the ring peak) and their residuals.

The fit records the image it was made on; opening another image (or rotating this one) clears the
points and the fit (``Session.drop_stale``), so the summary never shows another image's circle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static, TabbedContent, TabPane

from calterm.core.calibrate.model import ControlPoint
from calterm.core.common.history import History
from calterm.errors import InputError
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.screens.circle.text_checkbox import TextCheckbox
from calterm.tui.widgets.image_preview import ImagePreview

# field key -> (label, placeholder): what the user types, as calterm.inputs.circle reads it
SCALE_FIELDS = {"wavelength": ("λ Å", "screen 1's"), "energy": ("E keV", "or the energy"),
                "distance": ("dist mm", "gives d"), "pixel_size": ("pixel µm", "screen 1's / detector"),
                "d_spacing_A": ("d Å", "gives the distance")}
LABELS = {**{k: v[0] for k, v in SCALE_FIELDS.items()}, "fixed_center": "fixed centre", "seed_radius": "seed r",
          "search_size": "search"}


class CircleScreen(CaltermScreen):
    MODE = "circle"
    _refused = ""  # why the typed fields are refused (one line), "" when they are not
    AUTO_FOCUS = "#circle-preview"
    HELP = ("Fit one ring: add at least 5 points around it (enter at the cursor, or type x, y), then f fits "
            "a circle robustly; or a finds the ring itself (the one at 'seed r', else through the cursor). "
            "'fixed centre' fits the radius only. The Scale tab turns the radius into d (λ, distance, pixel) "
            "or the distance (d). e exports the history CSV next to the image.")
    DEFAULT_CSS = """
    CircleScreen #circle-side { width: 38; }
    CircleScreen #circle-summary { height: auto; max-height: 7; padding: 0 1; }
    CircleScreen Horizontal.row { height: 1; }
    CircleScreen Horizontal.row Label { width: 10; padding: 0 1; color: $text-muted; }
    CircleScreen Horizontal.row Checkbox { width: 11; border: none; padding: 0 0 0 1; height: 1; }
    CircleScreen Horizontal.row Input { width: 1fr; }
    CircleScreen #circle-find { width: 10; min-width: 10; }
    CircleScreen Input.-invalid { color: $error; text-style: bold; }
    CircleScreen #circle-scale-text { height: auto; padding: 0 1; }
    CircleScreen TabbedContent { height: 1fr; }
    CircleScreen TabPane { padding: 0; }
    """
    BINDINGS = [
        *(Binding(k, f"move({dx}, {dy})", show=False)
          for k, dx, dy in (("left", -1, 0), ("right", 1, 0), ("up", 0, -1), ("down", 0, 1),
                            ("shift+left", -8, 0), ("shift+right", 8, 0), ("shift+up", 0, -8),
                            ("shift+down", 0, 8))),
        Binding("enter", "add_point", "Add"),
        Binding("f", "fit", "Fit circle"),
        Binding("a", "find_ring", "Find ring"),
        Binding("e", "export_history", "Export CSV"),
        Binding("delete,backspace", "delete_point", "Delete", show=False),
        Binding("X", "clear_points", "Clear", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield ImagePreview(id="circle-preview")
            with Vertical(id="circle-side"):
                yield Static("", id="circle-summary")
                with Horizontal(classes="row"):
                    yield Label("add x,y")
                    yield Input(placeholder="x, y (px)", id="circle-xy", compact=True)
                with Horizontal(classes="row"):
                    yield TextCheckbox("fixed", id="circle-fixed", compact=True)
                    yield Input(placeholder="centre x, y (px)", id="circle-f-fixed_center", compact=True)
                with Horizontal(classes="row"):
                    yield Label("seed r")
                    yield Input(placeholder="px (or cursor)", id="circle-f-seed_radius", compact=True)
                    yield Button("Find (a)", id="circle-find", compact=True)
                with TabbedContent():
                    with TabPane("Points", id="circle-tab-points"):
                        yield DataTable(id="circle-points", cursor_type="row", zebra_stripes=True)
                    with TabPane("Scale", id="circle-tab-scale"):
                        for key, (label, hint) in SCALE_FIELDS.items():
                            with Horizontal(classes="row"):
                                yield Label(label)
                                yield Input(placeholder=hint, id=f"circle-f-{key}", compact=True)
                        yield Static("", id="circle-scale-text")
                    with TabPane("History", id="circle-tab-history"):
                        yield DataTable(id="circle-history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        typed = self._typed()
        for key in (*SCALE_FIELDS, "fixed_center", "seed_radius"):
            box = self.query_one(f"#circle-f-{key}", Input)
            with box.prevent(Input.Changed):
                box.value = str(typed.get(key) or "")
        fixed = self.query_one("#circle-fixed", Checkbox)
        with fixed.prevent(Checkbox.Changed):
            fixed.value = bool(typed.get("fixed"))

    def on_session_changed(self, what: str) -> None:
        self.update_previews(rings=False)
        self._fill()

    # --- what was typed --------------------------------------------------------------------------
    def _typed(self) -> dict:
        return self.session.tools.setdefault("circle", {}).setdefault("inputs", {})

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("circle-f-"):
            self._typed()[event.input.id.removeprefix("circle-f-")] = event.value
            self._fill_text()
            self.capp.changed("", debounce=True)

    @on(Checkbox.Changed, "#circle-fixed")
    def _fixed_changed(self, event: Checkbox.Changed) -> None:
        centre = self.query_one("#circle-f-fixed_center", Input)
        if event.value and not centre.value.strip():  # start from the last fit's centre, else screen 1's
            known = (self.session.circle_result or {}).get("center") or self.session.request.center_xy
            if known:
                centre.value = f"{known[0]:.2f}, {known[1]:.2f}"  # Input.Changed stores it
        self._typed()["fixed"] = event.value
        self._inputs(quiet=True)
        self.capp.changed("", debounce=True)

    def _inputs(self, quiet: bool = False):
        """The typed fields through the CLI's parser; a refused one turns red (and is said unless quiet)."""
        from calterm.inputs.circle import circle_screen_inputs
        from calterm.inputs.values import FieldError

        fields = {**self._typed(), "search_size": self.session.request.search_size_px}
        for box in self.query("#circle-side Input"):
            box.remove_class("-invalid")
        self._refused = ""
        try:
            return circle_screen_inputs(fields, lambda key: LABELS.get(key, key))
        except InputError as exc:
            self._refused = str(exc)
            if isinstance(exc, FieldError) and self.query(f"#circle-f-{exc.field}"):
                self.query_one(f"#circle-f-{exc.field}", Input).add_class("-invalid")
            if not quiet:
                self.notify(str(exc), severity="error", markup=False)
            return None

    # --- what is shown ----------------------------------------------------------------------------
    def _fill(self) -> None:
        fit = self.session.circle_result or {}
        self._fill_points(fit)
        hist = self.query_one("#circle-history", DataTable)
        hist.clear(columns=True)
        h = fit.get("history")
        if h:
            hist.add_columns(*h["columns"])
            for r in h["rows"][-300:]:
                hist.add_row(*(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r))
        self._fill_text()

    def _fill_text(self) -> None:
        """The summary, the scale and the preview's marks (each keystroke in a field redraws these)."""
        s = self.session
        fit = s.circle_result or {}
        scale = self._scale_text(fit)
        self.query_one("#circle-scale-text", Static).update("\n".join(scale))
        if fit:
            cx, cy = fit["center"]
            sx, sy = fit.get("center_se", [float("nan")] * 2)
            fixed = " fixed" if fit.get("fixed_center") else ""
            peaks = f", {fit['ring_samples']} peaks" if fit.get("ring_samples") else ""
            text = (f"centre [b]{cx:.2f} ± {sx:.2f}, {cy:.2f} ± {sy:.2f}[/b]{fixed}\n"
                    f"radius [b]{fit['radius']:.2f} ± {fit.get('radius_se', float('nan')):.2f}[/b] px "
                    f"RMS {fit.get('rms', float('nan')):.3f}\n"
                    f"{fit.get('method', '')}{peaks}, {len(fit.get('rejected') or [])} rejected")
            seed = fit.get("seed") or {}
            if seed.get("used"):
                text += f"\nthe ring at r≈{seed['radius_px']:.0f} px ({seed['from']})"
            if scale:  # the scale's first line; a distance from screen 1's calibrant down to its ring's d
                ends = [i for i, line in enumerate(scale) if line.startswith("ring d-spacing")]
                text += "\n" + "\n".join(scale[:ends[0] + 1] if ends else scale[:1])
            for note in fit.get("notes") or []:
                text += f"\n[i]{note}[/i]"
        else:
            text = (f"{len(s.circle_points)} points (5 or more, then f fits; a finds the ring)\n"
                    f"cursor {self._cursor_text()}")
        self.query_one("#circle-summary", Static).update(text)
        preview = self.query_one("#circle-preview", ImagePreview)
        preview.show(points=[(p.x, p.y, p.ring) for p in s.circle_points], cursor=self._cursor() or (0.0, 0.0),
                     marked=tuple(fit["center"]) if fit else ())

    def _fill_points(self, fit: dict) -> None:
        """One row per point: where the fit put it (moved onto its ring peak) and its residual; the
        typed position until the points are fitted (or when the ring was found automatically)."""
        table = self.query_one("#circle-points", DataTable)
        row = table.cursor_row
        fitted = (fit.get("fitted_points") or []) if fit.get("source", "points") == "points" else []
        columns = ("#", "fit x", "fit y", "resid px", "") if fitted else ("#", "x typed", "y typed", "", "")
        if tuple(str(c.label) for c in table.columns.values()) != columns:
            table.clear(columns=True)
            table.add_columns(*columns)
        table.clear()
        rejected = set(fit.get("rejected") or []) if fitted else set()
        residuals, refined = fit.get("residuals") or [], fit.get("refined") or []
        for i, (x, y) in enumerate(fitted or [(p.x, p.y) for p in self.session.circle_points]):
            res = f"{residuals[i]:+.3f}" if fitted and i < len(residuals) else ""
            flag = "rejected" if i in rejected else ("no peak" if fitted and i < len(refined) and not refined[i] else "")
            table.add_row(str(i + 1), f"{x:.2f}", f"{y:.2f}", res, flag)
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))

    def _scale_text(self, fit: dict) -> list[str]:
        from calterm.tui.screens.circle.ring_scale import scale_calibration, scale_lines, with_wavelength

        inputs = self._inputs(quiet=True)
        if inputs is None:
            return [f"[red]{escape(self._refused)}[/red]"]
        if not fit:
            return ["fit first (f or a): then the radius gives d (dist mm) or the distance (d Å)"]
        scale = inputs.request.scale
        if scale.distance_mm is None and scale.d_spacing_nm is None:
            cal = fit.get("calibration")
            if cal and "distance_mm" in cal and "calibrant" in cal:
                told = ", ".join(k.split("_")[0] for k in cal.get("from_header", {}))
                # one ring cannot say which of the calibrant's it is: the distance holds only if it is
                # this one (the CLI's choice), and the line says so and how to name another
                # (the hint last: the summary beside the image shows the first lines only)
                return [f"distance [b]{cal['distance_mm']:.1f}[/b] mm if {cal['calibrant']} ring {cal['order']}",
                        *([f"({told} from header)"] if told else []),
                        f"ring d-spacing {cal['d_spacing_nm'] * 10.0:.5f} Å", "another ring: type its d Å"]
            return ["type dist mm (gives d) or d Å (gives the distance)"]
        pixel = inputs.pixel_size_um or fit.get("pixel_size_um")
        try:
            cal = scale_calibration(fit["radius"], fit.get("radius_se"),
                                    with_wavelength(scale, self.session.request.wavelength_m * 1e10), pixel)
        except InputError as exc:
            return [escape(str(exc))]
        told = [f"λ {self.session.request.wavelength_m * 1e10:.5g} Å from screen 1"] if scale.wavelength_A is None else []
        if inputs.pixel_size_um is None and pixel is not None:
            told.append(f"pixel from {fit.get('pixel_from') or 'the detector'}")
        return [*scale_lines(cal), *(["(" + ", ".join(told) + ")"] if told else [])] if cal else []

    def _cursor(self) -> tuple[float, float] | None:
        """The cursor, or where it starts (not a seed until the user moves or places it)."""
        image = self.query_one("#circle-preview", ImagePreview).image
        return self.session.cursor_or_start(None if image is None else image.shape)

    def _cursor_text(self) -> str:
        c = self._cursor()
        return "-" if c is None else f"{c[0]:.1f}, {c[1]:.1f}"

    # --- points -------------------------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        preview = self.query_one("#circle-preview", ImagePreview)
        image = preview.image
        if image is None:
            return
        x, y = self.session.cursor_or_start(image.shape)
        step = preview.pixels_per_dot()
        self.session.cursor_xy = (float(np.clip(x + dx * step, 0, image.shape[1] - 1)),
                                  float(np.clip(y + dy * step, 0, image.shape[0] - 1)))
        self._fill()
        self.capp.changed("", debounce=True)

    def _set_points(self, points) -> None:
        self.session.circle_points = tuple(points)
        self.session.circle_result = self.session.circle_key = None
        self.capp.changed("points")

    def action_add_point(self) -> None:
        cursor = self._cursor()
        if cursor is not None:
            self._set_points([*self.session.circle_points, ControlPoint(*cursor, 1)])

    def on_image_preview_clicked(self, event: ImagePreview.Clicked) -> None:
        self.session.cursor_xy = (event.x, event.y)
        self.action_add_point()

    @on(Input.Submitted, "#circle-xy")
    def _typed_point(self, event: Input.Submitted) -> None:
        xy = self.typed_xy(event.value)
        if xy is None:
            return
        event.input.value = ""
        self._set_points([*self.session.circle_points, ControlPoint(*xy, 1)])

    @on(Input.Submitted, "#circle-f-seed_radius")
    def _seed_submitted(self) -> None:
        self.action_find_ring()

    def action_delete_point(self) -> None:
        table = self.query_one("#circle-points", DataTable)
        pts = list(self.session.circle_points)
        if pts and table.cursor_row >= 0:
            del pts[min(table.cursor_row, len(pts) - 1)]
            self._set_points(pts)

    def action_clear_points(self) -> None:
        self._set_points([])

    # --- the fits -----------------------------------------------------------------------------------
    def _job(self, with_points: bool):
        from calterm.tui.screens.circle.circle_jobs import CircleJob

        inputs = self._inputs()
        if inputs is None:
            return None
        points = tuple((p.x, p.y) for p in self.session.circle_points) if with_points else ()
        return CircleJob(self.session.request, inputs, points, self.session.cursor_xy)

    def action_fit(self) -> None:
        job = self._job(with_points=True)
        if job is not None:
            from calterm.tui.screens.circle.circle_jobs import fit_points

            self.capp.jobs.start("Circle fit", lambda ctx: fit_points(job, self.capp.images, ctx), owner=self,
                                 kind="circle", key=self.session.image_key())

    @on(Button.Pressed, "#circle-find")
    def action_find_ring(self) -> None:
        if not self.session.request.image_path:
            self.notify("open an image first (ctrl+o)", severity="warning")
            return
        job = self._job(with_points=False)
        if job is not None:
            from calterm.tui.screens.circle.circle_jobs import find_ring

            self.capp.jobs.start("Find ring", lambda ctx: find_ring(job, self.capp.images, ctx), owner=self,
                                 kind="circle", key=self.session.image_key())

    def on_job_done(self, message) -> None:
        if message.kind != "circle":
            return
        doc = message.result
        self.session.set_circle_result(doc, message.record.key)
        self.capp.changed("result")  # dropped at once if another image was opened while it ran
        if self.session.circle_result is not None:
            self.notify(f"circle: centre {doc['center'][0]:.2f}, {doc['center'][1]:.2f}  radius {doc['radius']:.2f} px")

    def action_export_history(self) -> None:
        fit = self.session.circle_result
        if not fit or not fit.get("history"):
            self.notify("no history yet: fit first (f or a)", severity="warning")
            return
        h = History(tuple(fit["history"]["columns"]), [tuple(r) for r in fit["history"]["rows"]])
        stem = Path(self.session.request.image_path).stem or "circle"
        self.export_history(h, "circle history", self.session.output_path(f"{stem}-circle.csv"), "circle_history")
