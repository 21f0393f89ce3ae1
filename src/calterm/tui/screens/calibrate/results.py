"""Screen 5, results: the geometry in PONI and Fit2D terms with uncertainties, the verdict in words,
residuals per ring and per point, the optimization history, and the plots that show a fit is right.

The summary line (verdict, RMS, distance in mm) is always on screen whatever the tab. Points sort
by any column (``o`` or a header click); the highlighted point is marked on the preview; ``d``
drops it and refits. ``s`` saves the PONI file (versioned: an earlier file is kept as a numbered
version, never overwritten silently); ``e`` exports the history as CSV.

Without a calibration of the image and inputs on screen (none yet, or the last one dropped because
the image or an input it depends on changed) every tab is emptied and the summary says so: the
screen never shows another image's numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from calterm.core.calibrate.uncertainty import METHOD as SIGMA_METHOD
from calterm.core.common.geometry import fit2d_center_px
from calterm.tui.screens.base import CaltermScreen
from calterm.tui.screens.calibrate.results_text import history_table, summary_text
from calterm.tui.screens.prompt import PromptScreen
from calterm.tui.session import request_key
from calterm.tui.units import PARAM_QUANTITY, fmt, header, shown, unit
from calterm.tui.widgets.check_plots import CheckPlots
from calterm.tui.widgets.image_preview import ImagePreview
from calterm.tui.widgets.residual_plot import ResidualPlot

PLOT_KEYS = Binding.Group("plots", compact=True)  # the footer shows "[] plots"
LAZY_TABLES = {"tab-points": "#point-table", "tab-history": "#history-table"}  # tab -> its big table
POINT_ROWS = 1000  # rows of the points table (of the sort order); s sorts, so the worst are one key away
SORTS = ("#", "ring", "|Δ2θ|", "x", "y")
NO_RESULT = "no calibration for this image: press [b]c[/b] to calibrate"
class Integrated(Message):
    """The check plots' data for ``result``, computed in a worker (or why it could not be)."""

    def __init__(self, result, pattern=None, cake=None, error: str | None = None) -> None:
        super().__init__()
        self.result, self.pattern, self.cake, self.error = result, pattern, cake, error


def with_detector(result, request):
    """The result with its pyFAI detector: a resumed session stores the detector as data (name,
    spline file, sensor, fitted distortion), rebuilt here as the calibration built it."""
    from calterm.core.calibrate.result_detector import with_result_detector

    return with_result_detector(result, request)


class ResultsScreen(CaltermScreen):
    MODE = "results"
    AUTO_FOCUS = "#tabs"
    HELP = ("The calibration: geometry (PONI and Fit2D), residuals per ring and per point, history, plots. "
            "s saves the PONI file (versioned), e exports the history CSV, d deletes a point and refits. "
            "Plots: one at a time, full size; ] the next, [ the previous (residuals, pattern, cake, the cost "
            "and each free parameter by iteration). u shows every number in PONI units (m, rad) or back in mm, "
            "mrad, °; in a wide table ←/→ scroll and home/end jump to its first/last columns.")
    DEFAULT_CSS = """
    ResultsScreen #summary { height: auto; max-height: 3; padding: 0 1; background: $surface; }
    ResultsScreen TabbedContent { height: 1fr; }
    ResultsScreen TabPane { padding: 0; }
    ResultsScreen #point-table { width: 48; }
    ResultsScreen #geometry { padding: 0 1; }
    """
    BINDINGS = [
        Binding("s", "save_poni", "Save PONI"),
        Binding("e", "export_history", "Export CSV"),
        Binding("d", "delete_and_refit", "Delete+refit", show=False),
        Binding("o", "sort_points", "Sort", show=False),
        Binding("v", "plot_view", "Plot view", show=False),
        Binding("left_square_bracket", "plot_step(-1)", "Previous plot", key_display="[", group=PLOT_KEYS),
        Binding("right_square_bracket", "plot_step(1)", "Next plot", key_display="]", group=PLOT_KEYS),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(NO_RESULT, id="summary")
        with TabbedContent(id="tabs"):
            with TabPane("Geometry", id="tab-geometry"):
                yield Static("", id="geometry")
            with TabPane("Rings", id="tab-rings"):
                yield DataTable(id="ring-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Points", id="tab-points"), Horizontal():
                yield DataTable(id="point-table", cursor_type="row", zebra_stripes=True)
                yield ImagePreview(id="point-preview")
            with TabPane("History", id="tab-history"):
                # wider than 80 columns: left/right scroll, home/end jump; the iteration stays in view
                yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True, fixed_columns=1)
            with TabPane("Plots", id="tab-plots"):
                yield CheckPlots(id="check-plots")

    def on_mount(self) -> None:
        self._sort = 0
        self._unfilled: set[str] = set()
        self._shown = None
        self.query_one(CheckPlots).set_view(self.session.tools.get("results", {}).get("plot_view", "residuals"))

    def on_session_changed(self, what: str) -> None:
        result = self.session.result
        if result is None:
            if self._shown is not None or what in ("all", "resume"):
                self._shown = None
                self._clear()
            self.update_previews()
            return
        if self._shown is not result:
            self._shown = result
            self._fill(result)
        elif what == "units":  # the same numbers in the other units: no new integration
            self._fill(result, plots=False)
            self._show_residuals(result)
        self.update_previews()

    # --- filling ------------------------------------------------------------------------------
    def _clear(self) -> None:
        self.query_one("#summary", Static).update(NO_RESULT)
        self.query_one("#geometry", Static).update("")
        for table in ("#ring-table", "#point-table", "#history-table"):
            self.query_one(table, DataTable).clear(columns=True)
        self.query_one(CheckPlots).failed("no calibration")
        self.query_one(ResidualPlot).show(np.zeros(0), np.zeros(0), np.zeros(0, dtype=int))
        self.query_one(CheckPlots).show_history(None)
        self.query_one("#point-preview", ImagePreview).show(marked=())

    def _fill(self, result, plots: bool = True) -> None:
        u = self.session.units
        self.query_one("#summary", Static).update(summary_text(result, u))
        self.query_one("#geometry", Static).update(self._geometry_table(result))
        rings = self.query_one("#ring-table", DataTable)
        rings.clear(columns=True)
        rings.add_columns("ring", header("d", "d", u), header("2θ", "tth", u), "n", header("mean Δ2θ", "angle", u),
                          header("std", "angle", u))
        for r in result.rings:
            rings.add_row(str(r.ring), fmt("d", r.d_A, u, from_unit="Å"), fmt("tth", r.tth_deg, u, from_unit="°"),
                          str(r.count), fmt("angle", r.mean_deg, u, from_unit="°", sign=True),
                          fmt("angle", r.std_deg, u, from_unit="°"))
        # the points and history tables (thousands of cells Textual measures on the event loop) are
        # filled when their tab is first shown, not on every calibration (benchmarks/tui_event_loop.py)
        self._unfilled = set(LAZY_TABLES)
        for table in LAZY_TABLES.values():
            self.query_one(table, DataTable).clear(columns=True)
        self._fill_shown_table()
        if plots:
            self._plot_residuals(result)
            self.query_one(CheckPlots).show_history(result.history, result.sigma)

    def _geometry_table(self, result) -> Table:
        table = Table(box=None, pad_edge=False, expand=False)
        table.add_column("PONI", style="bold")
        table.add_column("value", justify="right")
        table.add_column("± 1σ", justify="right")
        table.add_column("  ")
        table.add_column("Fit2D", style="bold")
        table.add_column("value", justify="right")
        u = self.session.units
        g = result.geometry.as_dict()
        fit2d = [("direct dist mm", result.fit2d.get("directDist")), ("centre x px", result.fit2d.get("centerX")),
                 ("centre y px", result.fit2d.get("centerY")), ("tilt °", result.fit2d.get("tilt")),
                 ("tilt plane °", result.fit2d.get("tiltPlanRotation")), ("", None), ("", None)]
        for (name, value), (fname, fvalue) in zip(g.items(), fit2d, strict=True):
            quantity = PARAM_QUANTITY[name]
            s = result.sigma.get(name)
            sigma = "fixed" if s is None else fmt(quantity, s, u, spec=".2g")
            table.add_row(header(name, quantity, u), fmt(quantity, value, u), sigma, "", fname,
                          "" if fvalue is None else f"{fvalue:.4f}")
        v = result.verdict
        grid = Table.grid()
        grid.add_row(table)
        grid.add_row(f"± 1σ: {SIGMA_METHOD}")
        grid.add_row("")
        grid.add_row(f"verdict: {v.status} — RMS {fmt('angle', v.rms_rad, u, unit_too=True)}, noise floor "
                     f"{fmt('angle', v.noise_floor_rad, u, unit_too=True)}; detector {result.detector_name}, "
                     f"{result.calibrant}")
        for reason in v.reasons:
            grid.add_row(f"  · {reason}")
        return grid

    def _order(self, result) -> np.ndarray:
        n = result.rows.size
        key = SORTS[self._sort]
        if key == "ring":
            return np.lexsort((np.arange(n), result.ring))
        if key == "|Δ2θ|":
            return np.argsort(-np.abs(result.residual_rad), kind="stable")
        if key == "x":
            return np.argsort(result.cols, kind="stable")
        if key == "y":
            return np.argsort(result.rows, kind="stable")
        return np.arange(n)

    def _fill_shown_table(self) -> None:
        tab = self.query_one(TabbedContent).active
        result = self.session.result
        if tab in self._unfilled and result is not None:
            self._unfilled.discard(tab)
            (self._fill_points if tab == "tab-points" else self._fill_history)(result)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._fill_shown_table()

    def _fill_history(self, result) -> None:
        hist = self.query_one("#history-table", DataTable)
        hist.clear(columns=True)
        heads, rows = history_table(result.history, self.session.units)
        hist.add_columns(*heads)
        for row in rows:
            hist.add_row(*row)

    def _fill_points(self, result) -> None:
        table = self.query_one("#point-table", DataTable)
        table.clear(columns=True)
        u = self.session.units
        for label, key in (("#", "#"), ("x px", "x"), ("y px", "y"), ("ring", "ring"), (header("Δ2θ", "angle", u),
                                                                                       "|Δ2θ|")):
            mark = " ▼" if SORTS[self._sort] == key else ""
            table.add_column(label + mark, key=key)
        # the first POINT_ROWS in the chosen order (sorted by |Δ2θ|: the worst); the CSV and the plots
        # have them all. A DataTable row costs ~70 µs of the event loop: 9412 rows of the demo blocked it
        # 0.7 s after every calibration, 1000 rows take 0.07 s
        for i in self._order(result)[:POINT_ROWS]:
            table.add_row(str(i + 1), f"{result.cols[i]:.2f}", f"{result.rows[i]:.2f}", str(result.ring[i]),
                          fmt("angle", float(result.residual_rad[i]), u, sign=True), key=str(i))

    def _show_residuals(self, result) -> None:
        cx, cy = fit2d_center_px(result.fit2d) if "centerX" in result.fit2d else (-0.5, -0.5)
        azimuth = np.degrees(np.arctan2(result.rows - cy, result.cols - cx))
        u = self.session.units  # Δ2θ in the screens' small-angle unit (mrad, or rad in PONI units)
        self.query_one(ResidualPlot).show(azimuth, np.asarray(result.residual_rad) * shown("angle", 1.0, u),
                                          result.ring, unit("angle", u))

    def _plot_residuals(self, result) -> None:
        self._show_residuals(result)
        self._pattern(result)

    @work(thread=True, exclusive=True, group="pattern")
    def _pattern(self, result) -> None:
        """The 1D pattern, then the cake (0.1-1 s each, pyFAI's integrators), off the event loop."""
        request = self.session.effective_request()
        self.post_message(Integrated(result))
        try:
            from calterm.core.calibrate.integrate import cake, pattern

            full = with_detector(result, request)
            self.post_message(Integrated(result, pattern=pattern(full, request)))
            self.post_message(Integrated(result, cake=cake(full, request)))
        except Exception as exc:  # shown in the plots: the rest of the results stay usable
            self.post_message(Integrated(result, error=f"cannot integrate: {exc}"))

    def on_integrated(self, message: Integrated) -> None:
        if message.result is not self._shown:
            return  # computed for a result no longer shown
        plots = self.query_one(CheckPlots)
        if message.error is not None:
            plots.failed(message.error)
        elif message.pattern is not None:
            plots.show_pattern(message.pattern)
        elif message.cake is not None:
            plots.show_cake(message.cake)
        else:
            plots.computing()

    def action_plot_view(self) -> None:
        """Open the Plots tab, then step to the next plot (as ``]``)."""
        self.action_plot_step(1)

    def action_plot_step(self, by: int) -> None:
        """``]`` the next plot, ``[`` the previous one; from another tab, open the Plots tab on the
        plot shown last. The plot shown is remembered in the session."""
        tabs = self.query_one(TabbedContent)
        if tabs.active != "tab-plots":
            tabs.active = "tab-plots"
            return
        view = self.query_one(CheckPlots).step(by)
        self.session.tools.setdefault("results", {})["plot_view"] = view
        self.capp.changed("", debounce=True)

    # --- selection, sorting, delete + refit ---------------------------------------------------
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "point-table" or self.session.result is None or event.row_key.value is None:
            return
        i = int(event.row_key.value)
        r = self.session.result
        self.query_one("#point-preview", ImagePreview).show(marked=(float(r.cols[i]), float(r.rows[i])))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table.id == "point-table" and event.column_key.value in SORTS:
            self._sort = SORTS.index(event.column_key.value)
            self._fill_points(self.session.result)

    def action_sort_points(self) -> None:
        if self.session.result is not None:
            self._sort = (self._sort + 1) % len(SORTS)
            self._fill_points(self.session.result)
            self.query_one(TabbedContent).active = "tab-points"
            self.notify(f"points sorted by {SORTS[self._sort]}")

    def action_delete_and_refit(self) -> None:
        result = self.session.result
        if result is not None and "tab-points" in self._unfilled:  # not shown yet: filled now
            self._unfilled.discard("tab-points")
            self._fill_points(result)
        table = self.query_one("#point-table", DataTable)
        if result is None or not table.row_count:
            return
        self.query_one(TabbedContent).active = "tab-points"
        row_key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
        drop = int(row_key.value)
        keep = np.ones(result.rows.size, dtype=bool)
        keep[drop] = False
        request = self.session.effective_request()

        def refit_job(ctx):
            from calterm.core.calibrate.pipeline import refit
            from calterm.tui.session_file import prepare_result

            ctx.report("refit without the deleted point", 0, 1)
            return prepare_result(refit(with_detector(result, request), request, keep))

        self._refit_drop = drop
        self.capp.jobs.start("Refit", refit_job, owner=self, kind="refit", key=request_key(request))

    def on_job_done(self, message) -> None:
        if message.kind == "refit":
            new = message.result
            self.session.set_result(new, message.record.key)
            self.capp.changed("result")  # dropped at once if the inputs changed while it ran
            self.notify(f"point {self._refit_drop + 1} deleted; refitted: RMS "
                        f"{fmt('angle', new.verdict.rms_rad, self.session.units, spec='.3f', unit_too=True)}")
        elif message.kind == "save-poni":
            path, version = message.result
            self.session.outputs["poni"] = path
            self.capp.changed("")
            self.notify(f"PONI saved: {path} -> {Path(version).name}")

    # --- outputs ------------------------------------------------------------------------------
    def _default(self, suffix: str) -> str:
        stem = Path(self.session.request.image_path).stem or "calibration"
        return self.session.output_path(f"{stem}{suffix}")  # next to the image, or the chosen folder

    def action_save_poni(self) -> None:
        result = self.session.result
        if result is None:
            self.notify("nothing to save: calibrate first (c)", severity="warning")
            return
        request = self.session.request

        def chosen(path: str | None) -> None:
            if not path:
                return
            target = self.session.output_path(path)  # a bare name goes next to the image (or the chosen folder)

            def save(ctx):
                from calterm.core.calibrate.pipeline import write_poni

                return target, write_poni(with_detector(result, request), Path(target),
                                        command="calterm tui")

            self.capp.jobs.start("Save PONI", save, owner=self, kind="save-poni")

        default = self.session.outputs.get("poni") or self._default(".poni")
        self.app.push_screen(PromptScreen("Save PONI file", default,
                                          "an existing file is kept as a numbered version"), chosen)

    def action_export_history(self) -> None:
        result = self.session.result
        if result is None:
            self.notify("no history yet: calibrate first (c)", severity="warning")
            return
        default = self.session.outputs.get("history") or self._default("-history.csv")
        self.export_history(result.history, "optimization history", default, "history")
