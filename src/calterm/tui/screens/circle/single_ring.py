"""Screen 6, single ring (MuscleX's calibration settings): points on one ring, a robust circle fit
(:func:`calterm.core.circle.fit.fit_circle`), its per-point residuals and optimization history.

The cursor is the same as on the points screen; ``enter`` adds the cursor position, typed
``x, y`` adds exactly there, ``f`` fits (a job: differential evolution, multi-start, MAD
rejection, refinement against the image), ``e`` exports the history as CSV.

The fit records the image it was made on; opening another image (or rotating this one) clears the
points and the fit (``Session.drop_stale``), so the summary never shows another image's circle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static, TabbedContent, TabPane

from calterm.core.calibrate.model import ControlPoint
from calterm.core.common.history import History
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.widgets.image_preview import ImagePreview


class CircleScreen(CaltermScreen):
    MODE = "circle"
    AUTO_FOCUS = "#circle-preview"
    HELP = ("Fit one ring: add at least 5 points around it (enter at the cursor, or type x, y), then f fits "
            "a circle robustly; e exports the history CSV.")
    DEFAULT_CSS = """
    CircleScreen #circle-side { width: 38; }
    CircleScreen #circle-summary { height: auto; max-height: 8; padding: 0 1; }
    CircleScreen Horizontal.row { height: 1; }
    CircleScreen Horizontal.row Label { width: 10; padding: 0 1; color: $text-muted; }
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
                with TabbedContent():
                    with TabPane("Points", id="circle-tab-points"):
                        yield DataTable(id="circle-points", cursor_type="row", zebra_stripes=True)
                    with TabPane("History", id="circle-tab-history"):
                        yield DataTable(id="circle-history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#circle-points", DataTable).add_columns("#", "x", "y", "resid px", "")

    def on_session_changed(self, what: str) -> None:
        self.update_previews(rings=False)
        self._fill()

    def _fill(self) -> None:
        s = self.session
        fit = s.circle_result or {}
        residuals = fit.get("residuals") or []
        rejected = set(fit.get("rejected") or [])
        table = self.query_one("#circle-points", DataTable)
        row = table.cursor_row
        table.clear()
        for i, p in enumerate(s.circle_points):
            res = f"{residuals[i]:+.3f}" if i < len(residuals) else ""
            table.add_row(str(i + 1), f"{p.x:.2f}", f"{p.y:.2f}", res, "rejected" if i in rejected else "")
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))
        hist = self.query_one("#circle-history", DataTable)
        hist.clear(columns=True)
        h = fit.get("history")
        if h:
            hist.add_columns(*h["columns"])
            for r in h["rows"][-300:]:
                hist.add_row(*(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r))
        if fit:
            cx, cy = fit["center"]
            sx, sy = fit.get("center_se", [float("nan")] * 2)
            text = (f"centre [b]{cx:.2f} ± {sx:.2f}, {cy:.2f} ± {sy:.2f}[/b] px\n"
                    f"radius [b]{fit['radius']:.2f} ± {fit.get('radius_se', float('nan')):.2f}[/b] px  "
                    f"RMS {fit.get('rms', float('nan')):.3f} px\n"
                    f"{len(rejected)} rejected · {fit.get('method', '')}")
            cal = fit.get("calibration")
            if cal and "distance_mm" in cal:  # the ring's distance: calibrant of screen 1, header's λ/pixel
                told = ", ".join(k.split("_")[0] for k in cal.get("from_header", {}))
                text += (f"\ndistance [b]{cal['distance_mm']:.1f}[/b] mm ({cal['calibrant']} ring {cal['order']}"
                         + (f"; {told} from header" if told else "") + ")")
        else:
            text = f"{len(s.circle_points)} points (5 or more, then f fits)\ncursor {self._cursor_text()}"
        self.query_one("#circle-summary", Static).update(text)
        preview = self.query_one("#circle-preview", ImagePreview)
        preview.show(points=[(p.x, p.y, p.ring) for p in s.circle_points], cursor=s.cursor_xy or (0.0, 0.0),
                     marked=tuple(fit["center"]) if fit else ())

    def _cursor_text(self) -> str:
        c = self.session.cursor_xy
        return "-" if c is None else f"{c[0]:.1f}, {c[1]:.1f}"

    def action_move(self, dx: int, dy: int) -> None:
        preview = self.query_one("#circle-preview", ImagePreview)
        image = preview.image
        if image is None:
            return
        x, y = self.session.cursor_xy or ((image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2)
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
        if self.session.cursor_xy is not None:
            x, y = self.session.cursor_xy
            self._set_points([*self.session.circle_points, ControlPoint(x, y, 1)])

    def on_image_preview_clicked(self, event: ImagePreview.Clicked) -> None:
        self.session.cursor_xy = (event.x, event.y)
        self.action_add_point()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "circle-xy":
            return
        xy = self.typed_xy(event.value)
        if xy is None:
            return
        event.input.value = ""
        self._set_points([*self.session.circle_points, ControlPoint(*xy, 1)])

    def action_delete_point(self) -> None:
        table = self.query_one("#circle-points", DataTable)
        pts = list(self.session.circle_points)
        if pts and table.cursor_row >= 0:
            del pts[min(table.cursor_row, len(pts) - 1)]
            self._set_points(pts)

    def action_clear_points(self) -> None:
        self._set_points([])

    def action_fit(self) -> None:
        request = self.session.request
        points = np.array([[p.x, p.y] for p in self.session.circle_points], dtype=float).reshape(-1, 2)
        from calterm.inputs.circle import circle_options

        options = circle_options({"search_size": request.search_size_px})

        def fit(ctx):
            from calterm.core.circle.fit import fit_circle

            image = None
            if request.image_path:
                img, _ = self.capp.images.get(request)
                image = np.where(img.invalid, np.nan, img.data)
            result = fit_circle(points, image, options, ctx=ctx)
            doc = result.as_dict()
            if image is not None:  # with a calibrant ring and the header's (or typed) λ and pixel: the distance
                from contextlib import suppress

                from calterm.core.circle.calibration import ring_calibration_for_image
                from calterm.errors import InputError

                raw = image.shape[::-1] if request.rotate in (90, 270) else image.shape
                header_wl = "wavelength_A" in request.from_header
                with suppress(InputError):  # no ring of that calibrant at this wavelength: the fit stays in pixels
                    doc["calibration"] = ring_calibration_for_image(
                        result.radius, result.radius_se, request.image_path, raw, request.calibrant,
                        frame=request.frame, wavelength_A=None if header_wl else request.wavelength_m * 1e10,
                        detector=request.detector, pixel_size_um=request.pixel_size_um)
            doc["history"] = {"columns": list(result.history.columns), "rows": [list(r) for r in result.history.rows]}
            return doc

        self.capp.jobs.start("Circle fit", fit, owner=self, kind="circle", key=self.session.image_key())

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
            self.notify("no history yet: fit first (f)", severity="warning")
            return
        h = History(tuple(fit["history"]["columns"]), [tuple(r) for r in fit["history"]["rows"]])
        stem = Path(self.session.request.image_path).stem or "circle"

        self.export_history(h, "circle history", self.session.output_path(f"{stem}-circle.csv"), "circle_history")
