"""Screen 2, ring points: the image with predicted rings, a keyboard cursor, a zoom inset, and the
control points (Dioptas' peak picking, MuscleX's "approximate click, then precise click").

Arrows move the cursor one preview dot (shift: eight); ``z`` opens the inset magnified around the
cursor, and arrows then move one pixel. ``enter`` adds the brightest spot within the search size
of the cursor (single-peak search), ``=`` adds the cursor position as is, ``a`` searches the whole
ring through the cursor (automatic peak search). Each point takes the current ring number, which
can increase by itself after each point. Typed ``x, y`` adds a point exactly there.

Points belong to the image they were placed on: a search that finishes after another image was
opened adds nothing (its job carries the image key it started on), and the app clears the points
when the image, its frame or its orientation changes (``Session.drop_stale``).
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Static

from calterm.core.calibrate.model import ControlPoint
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.widgets.image_preview import ImagePreview

INSET_ZOOM = 6.0


class PointsScreen(CaltermScreen):
    MODE = "points"
    AUTO_FOCUS = "#preview"
    HELP = ("Pick control points on the rings. Arrows move the cursor (shift: faster); z zooms around it "
            "for a precise pick; enter adds the peak found near the cursor; a finds the whole ring.")
    DEFAULT_CSS = """
    PointsScreen #side { width: 34; }
    PointsScreen #inset { height: 11; display: none; }
    PointsScreen.-zoom #inset { display: block; }
    PointsScreen #status { height: 2; padding: 0 1; }
    PointsScreen Horizontal.row { height: 1; }
    PointsScreen Horizontal.row Label { width: 13; padding: 0 1; color: $text-muted; }
    PointsScreen Horizontal.row Input { width: 1fr; }
    PointsScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        *(Binding(k, f"move({dx}, {dy})", show=False)
          for k, dx, dy in (("left", -1, 0), ("right", 1, 0), ("up", 0, -1), ("down", 0, 1),
                            ("shift+left", -8, 0), ("shift+right", 8, 0), ("shift+up", 0, -8),
                            ("shift+down", 0, 8))),
        Binding("enter", "add_point", "Add"),
        Binding("equals_sign,shift+enter", "add_point_exact", "Add exact", show=False),
        Binding("a", "grow_ring", "Ring search"),
        Binding("z", "toggle_zoom", "Zoom"),
        Binding("plus", "ring(1)", "Ring+", show=False),
        Binding("minus", "ring(-1)", "Ring-", show=False),
        Binding("i", "toggle_increment", "Auto+", show=False),
        Binding("delete,backspace", "delete_point", "Delete", show=False),
        Binding("X", "clear_points", "Clear", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        with Horizontal():
            yield ImagePreview(id="preview")
            with Vertical(id="side"):
                yield ImagePreview(id="inset", zoom=INSET_ZOOM)
                yield Static("", id="status")
                with Horizontal(classes="row"):
                    yield Label("add x,y")
                    yield Input(placeholder="x, y (px)", id="xy", compact=True)
                with Horizontal(classes="row"):
                    yield Label("search px")
                    yield Input(id="search", compact=True, type="integer")
                yield DataTable(id="points", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#points", DataTable).add_columns("#", "x", "y", "ring")

    # --- session -> display -------------------------------------------------------------------
    def on_session_changed(self, what: str) -> None:
        s = self.session
        self.set_class(s.zoom, "-zoom")
        search = self.query_one("#search", Input)
        if search.value != str(s.request.search_size_px):
            with search.prevent(Input.Changed):
                search.value = str(s.request.search_size_px)
        if what in ("all", "resume", "points", "request", "stale"):
            self._fill_table()
        self.update_previews()
        self._draw()

    def _fill_table(self) -> None:
        table = self.query_one("#points", DataTable)
        row = table.cursor_row
        table.clear()
        for i, p in enumerate(self.session.request.points, 1):
            table.add_row(str(i), f"{p.x:.2f}", f"{p.y:.2f}", "-" if p.ring is None else str(p.ring))
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))

    def on_preview_loaded(self, message) -> None:
        # the cursor starts at the image centre, known once the image is read: redraw after the
        # base class hands the image to the views (Textual calls this class's handler first)
        if message.image is not None and self.session.cursor_xy is None:
            self.call_after_refresh(self._draw)

    def _cursor(self) -> tuple[float, float]:
        image = self.query_one("#preview", ImagePreview).image
        return self.session.cursor_or_start(None if image is None else image.shape) or (0.0, 0.0)

    def _draw(self) -> None:
        s = self.session
        cursor = self._cursor()
        pts = [(p.x, p.y, p.ring) for p in s.request.points]
        self.query_one("#preview", ImagePreview).show(points=pts, cursor=cursor)
        self.query_one("#inset", ImagePreview).show(points=pts, cursor=cursor)
        auto = "on" if s.auto_increment else "off"
        self.query_one("#status", Static).update(
            f"cursor [b]{cursor[0]:.1f}, {cursor[1]:.1f}[/b]\n"
            f"ring [b]{s.ring}[/b] (+/-)  auto-increment {auto} (i)")

    # --- cursor and zoom ----------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        preview = self.query_one("#inset" if self.session.zoom else "#preview", ImagePreview)
        step = 1.0 if self.session.zoom else preview.pixels_per_dot()
        x, y = self._cursor()
        image = preview.image
        w, h = (image.shape[1], image.shape[0]) if image is not None else (1e9, 1e9)
        self.session.cursor_xy = (float(np.clip(x + dx * step, 0, w - 1)), float(np.clip(y + dy * step, 0, h - 1)))
        self._draw()
        self.capp.changed("", debounce=True)

    def action_toggle_zoom(self) -> None:
        self.session.zoom = not self.session.zoom
        self.set_class(self.session.zoom, "-zoom")
        self.capp.changed("")

    def on_image_preview_clicked(self, event: ImagePreview.Clicked) -> None:
        self.session.cursor_xy = (event.x, event.y)
        self._draw()
        if event.preview.id == "inset" or not self.session.zoom:
            self.action_add_point()  # the precise click adds; the approximate click only aims
        else:
            self.capp.changed("", debounce=True)

    # --- ring number --------------------------------------------------------------------------
    def action_ring(self, delta: int) -> None:
        self.session.ring = max(1, self.session.ring + delta)
        self._draw()
        self.capp.changed("")

    def action_toggle_increment(self) -> None:
        self.session.auto_increment = not self.session.auto_increment
        self._draw()
        self.capp.changed("")

    # --- points -------------------------------------------------------------------------------
    def add_points(self, new: list[ControlPoint], advance: bool = True) -> None:
        s = self.session
        self.capp.update_request("points", points=(*s.request.points, *new))
        if advance and s.auto_increment:
            s.ring += 1
            self._draw()
            self.capp.changed("")
        table = self.query_one("#points", DataTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    def action_add_point_exact(self) -> None:
        x, y = self._cursor()
        self.add_points([ControlPoint(x, y, self.session.ring)])

    def action_add_point(self) -> None:
        r = self.session.request
        x, y = self._cursor()
        ring = self.session.ring

        def find(ctx):
            from calterm.core.calibrate.points import refine_peak

            image, _ = self.capp.images.get(r)
            px, py = refine_peak(image.data, ~image.invalid, x, y, r.search_size_px)
            return [ControlPoint(px, py, ring)]

        self.capp.jobs.start("Single-peak search", find, owner=self, kind="peak", key=self.session.image_key())

    def action_grow_ring(self) -> None:
        r = self.session.request
        seed = self._cursor()
        ring = self.session.ring
        result = self.session.result if self.session.rings_from_result else None

        def grow(ctx):
            from calterm.core.calibrate.points import grow_ring
            from calterm.core.common.calibrants import load_calibrant

            image, _ = self.capp.images.get(r)
            ctx.report("search the ring", 0, 1)
            if result is not None and result.detector is not None:
                centre = result.geometry.beam_center_px(result.detector)
            elif r.center_xy is not None:
                centre = r.center_xy
            else:
                centre = ((image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2)
            d = load_calibrant(r.calibrant).d_spacings_A
            if not 1 <= ring <= len(d):
                from calterm.errors import InputError

                raise InputError(f"ring {ring} does not exist: {r.calibrant} has {len(d)} rings")
            pts = grow_ring(image.data, ~image.invalid, centre, seed, ring, d[ring - 1], r.search_size_px)
            return [ControlPoint(float(x), float(y), ring) for x, y in zip(pts.cols, pts.rows, strict=True)]

        self.capp.jobs.start("Ring search", grow, owner=self, kind="ring", key=self.session.image_key())

    def on_job_done(self, message) -> None:
        if message.kind not in ("peak", "ring"):
            return
        points: list[ControlPoint] = message.result
        if message.record.key != self.session.image_key():
            self.notify(f"{message.record.name}: its points were found on another image; none added",
                        severity="warning")
            return
        self.add_points(points)
        if message.kind == "ring":
            self.notify(f"ring {points[0].ring if points else self.session.ring}: {len(points)} points")

    def action_delete_point(self) -> None:
        table = self.query_one("#points", DataTable)
        pts = list(self.session.request.points)
        if not pts or table.cursor_row < 0:
            return
        del pts[min(table.cursor_row, len(pts) - 1)]
        self.capp.update_request("points", points=tuple(pts))

    def action_clear_points(self) -> None:
        if self.session.request.points:
            self.capp.update_request("points", points=())
            self.notify("all points cleared")

    # --- typed point and search size ----------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "xy":
            return
        xy = self.typed_xy(event.value)
        if xy is None:
            return
        event.input.value = ""
        self.session.cursor_xy = xy
        self.add_points([ControlPoint(*xy, self.session.ring)])

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            try:
                size = int(event.value)
            except ValueError:
                return
            if 1 <= size <= 500 and size != self.session.request.search_size_px:
                self.capp.update_request("", search_size_px=size)
