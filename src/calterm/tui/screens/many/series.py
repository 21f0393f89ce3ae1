"""A series recalibrated image after image (``calterm series`` in the app): a glob of images, or a
folder watched for new ones, each image recalibrated from the previous geometry (the fast path,
the full pipeline as fallback), its drift-table row shown as soon as it is computed.

``r`` starts, esc stops between two images (the rows so far stay), ``t`` toggles between the glob
and a watched folder, ``v`` shows the table or the plot, ``p`` cycles the plotted parameter and
``w`` writes the drift table as CSV next to the images (versioned). The worker posts one typed
:class:`DriftRowArrived` per image, so rows arrive live and the event loop never waits on a fit.
Every field goes through :mod:`calterm.inputs.series`, the CLI's parser. Wavelength, pixel size and
the distance jump are typed in the app's unit system (``u``: PONI units, m) and kept as the parser
reads them (Å, µm, mm); the table and the plot follow the toggle with the rows already computed.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from calterm.errors import InputError
from calterm.tui.screens.many import series_view as view
from calterm.tui.screens.many.series_view import DriftRowArrived
from calterm.tui.screens.tool_form import Field, ToolScreen
from calterm.tui.widgets.drift_plot import SERIES, DriftPlot

REQUEST_KEYS = ("calibrant", "wavelength", "pixel_size", "detector")
ROW_PAUSE_S = 0.015


class SeriesScreen(ToolScreen):
    MODE = "series"
    AUTO_FOCUS = ""
    HELP = ("A series recalibrated image after image from the previous geometry: a glob (run/*.tif) or, with "
            "watch on (t), a folder whose new images are taken as they land. r starts, esc stops (the table is "
            "kept), v shows the table or the plot, p cycles the plotted parameter, w writes the drift table CSV "
            "next to the images. Rows marked ! are flagged (a jump or a doubtful fit).")
    FIELDS = (
        Field("source", "Images/folder", "", "glob such as run/*.tif, or a folder to watch (t)", wide=True),
        Field("calibrant", "Calibrant", "LaB6"), Field("wavelength", "Wavelength Å", "", quantity="wavelength"),
        Field("pixel_size", "Pixel µm", "", "header", quantity="pixel"), Field("detector", "Detector", "", "auto"),
        Field("jump_mm", "Jump mm", "0.1", quantity="distance"), Field("jump_px", "Jump px", "1"),
    )
    DEFAULT_CSS = """
    SeriesScreen #series-watch, SeriesScreen #series-status { height: 1; padding: 0 1; }
    SeriesScreen #series-error { height: auto; max-height: 2; padding: 0 1; color: $error; }
    SeriesScreen TabbedContent { height: 1fr; }
    SeriesScreen TabPane { padding: 0; }
    SeriesScreen #series-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("t", "toggle_watch", "Watch"),
        Binding("v", "next_tab", "Table/plot"),
        Binding("p", "next_parameter", "Parameter"),
    ]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_form()
        yield Static("", id="series-watch")
        yield Static("", id="series-error")
        yield Static("no series yet: r starts it", id="series-status")
        with TabbedContent(id="series-tabs"):
            with TabPane("Table", id="series-table-tab"):
                yield DataTable(id="series-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Plot", id="series-plot-tab"):
                yield DriftPlot(id="series-plot")

    def on_mount(self) -> None:
        self.rows: list = []
        self.result = None
        self.folder: Path | None = None
        self.query_one("#series-table", DataTable).add_columns(*view.columns(self.session.units))
        self.query_one(DriftPlot).units = self.session.units

    def on_units(self) -> None:
        """The same rows in the other unit system: the table rebuilt, the plot redrawn."""
        table = self.query_one("#series-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*view.columns(self.session.units))
        self._fill_table()
        self.query_one(DriftPlot).set_units(self.session.units)

    def _fill_table(self) -> None:
        table = self.query_one("#series-table", DataTable)
        table.clear()
        for row in self.rows:
            table.add_row(*(Text(c, style="bold" if row.flags else "") for c in view.row_cells(row, self.session.units)))

    def default_for(self, f: Field) -> str | bool:
        r = self.session.request
        if f.key == "wavelength":
            return f"{r.wavelength_m * 1e10:.6g}"
        if f.key == "calibrant" and r.calibrant:
            return r.calibrant
        if f.key == "pixel_size" and r.pixel_size_um:
            return f"{r.pixel_size_um:g}"
        if f.key == "detector" and r.detector:
            return r.detector
        if f.key == "source" and r.image_path:  # the session image's folder, its kind of file
            image = Path(r.image_path.split("::", 1)[0])
            return str(image.parent / f"*{image.suffix}")
        return f.default

    def on_restored(self, what: str) -> None:
        self._say_watch()
        report = self.state.get("report")
        if what in ("all", "resume") and report and self.result is None and not self.capp.jobs.busy:
            if report.get("rows") is not None:  # the last run's drift table, as it was left
                from calterm.core.series.run import SeriesResult

                self.folder = Path(report["folder"]) if report.get("folder") else None
                self._show(SeriesResult.from_summary(report), "last run: ")
                return
            self.query_one("#series-status", Static).update(Text(  # a session saved before rows were kept
                f"last run: {report['images']} images, {report['skipped']} skipped, {len(report['flagged'])} flagged"
                + (f" ({report['stop_reason']})" if report.get("stop_reason") else "") + " · r runs it again"))

    @property
    def watching(self) -> bool:
        return bool(self.state.get("inputs", {}).get("watch", False))

    def _say_watch(self) -> None:
        box = "[x]" if self.watching else "[ ]"
        what = "watch the folder: each new image as it lands" if self.watching else "watch a folder (off: the glob)"
        self.query_one("#series-watch", Static).update(Text(f"{box} {what}  · t toggles"))

    def action_toggle_watch(self) -> None:
        self.state.setdefault("inputs", {})["watch"] = not self.watching
        self._say_watch()
        self.capp.changed("", debounce=True)

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "series-plot-tab" if tabs.active == "series-table-tab" else "series-table-tab"

    def action_next_parameter(self) -> None:
        plot = self.query_one(DriftPlot)
        names = list(SERIES)
        plot.set_series(names[(names.index(plot.series) + 1) % len(names)])
        self.query_one(TabbedContent).active = "series-plot-tab"

    def say(self, message: str, key: str | None = None) -> None:
        """A bad field: one line under the form, the field red; '' clears it."""
        self.query_one("#series-error", Static).update(message)
        for f in self.FIELDS:
            self.query_one(f"#f-{f.key}", Input).set_class(f.key == key, "-invalid-value")

    # --- run ----------------------------------------------------------------------------------
    def _inputs(self):
        """(first request, files or None, folder or None, options) through the CLI's parsers."""
        from calterm.inputs.series import first_request, series_options, series_paths, watch_folder

        v = self.values()
        fields = {k: v[k] for k in REQUEST_KEYS}
        options = series_options({"jump_mm": v["jump_mm"], "jump_px": v["jump_px"]})
        if self.watching:
            folder = watch_folder(v["source"])
            return first_request(fields, None), None, folder, options
        files = series_paths(str(v["source"]))
        return first_request(fields, files[0]), files, Path(files[0]).parent, options

    def action_run(self) -> None:
        from calterm.inputs.values import FieldError

        if self.capp.jobs.busy:  # a running series keeps its rows: say so, clear nothing
            self.notify(f"{self.capp.jobs.current.name} is still running (esc stops it)", severity="warning")
            return
        try:
            request, files, folder, options = self._inputs()
        except InputError as exc:
            text = str(exc)
            key = exc.field if isinstance(exc, FieldError) else None
            if key is None:
                key = next((k for k, w in (("source", "IMAGES"), ("source", "--watch"), ("jump_mm", "--jump-mm"),
                                          ("jump_px", "--jump-px")) if text.startswith(w)), None)
            self.say(view.app_words(text, self.session.units), key)
            return
        self.say("")
        self.rows, self.result, self.folder = [], None, folder
        self.query_one("#series-table", DataTable).clear()
        self.query_one(DriftPlot).show([])
        watching = files is None

        def post_row(row) -> None:
            self.post_message(DriftRowArrived(row))
            # the fits hold the GIL in long C calls (pyFAI, scipy): without a pause the event loop
            # saw a 6-image series' rows only when it was over (1.5 s blocked; 3 ms was not enough
            # either at a load of 4 on 2 cores); 15 ms hands it the GIL once per image to show the
            # row: 5 % of a 1 Mpx image's 0.3 s fast path
            time.sleep(ROW_PAUSE_S)

        def job(ctx):
            from calterm.core.series.run import run_series

            paths = files
            if watching:
                from calterm.core.series.watch import FolderWatch

                paths = FolderWatch(folder, ctx)
            result = run_series(request, paths, options, ctx, on_row=post_row, total=0 if watching else len(files))
            if watching and not result.stop_reason:
                result.stop_reason = paths.stop_reason
            return result

        record = self.capp.jobs.start("Series", job, owner=self, kind="series")
        if record is not None:
            self.query_one("#series-status", Static).update(view.counts_line([], 0, True))

    def on_drift_row_arrived(self, message: DriftRowArrived) -> None:
        row = message.row
        self.rows.append(row)
        cells = view.row_cells(row, self.session.units)
        self.query_one("#series-table", DataTable).add_row(*(Text(c, style="bold" if row.flags else "") for c in cells))
        self.query_one(DriftPlot).show(self.rows)
        self.query_one("#series-status", Static).update(view.counts_line(self.rows, 0, True))

    def _show(self, result, prefix: str = "") -> None:
        """A finished series (just run, or resumed) in the table, the plot and the status line."""
        self.result = result
        self.rows = list(result.rows)  # the worker's own list: every row, in order
        if self.query_one("#series-table", DataTable).row_count != len(self.rows):
            self._fill_table()
        self.query_one(DriftPlot).show(self.rows)
        skipped = "; ".join(f"{Path(p).name}: {r}" for p, r in result.skipped[:2])
        self.query_one("#series-status", Static).update(
            Text(prefix + view.counts_line(self.rows, len(result.skipped), False, result.stop_reason)
                 + (f" · skipped {skipped}" if skipped else "") + " · w writes the CSV"))

    def on_job_done(self, message) -> None:
        if message.kind == "series":
            result = message.result
            self._show(result)
            # the whole drift table is kept in the session (a row is ~0.3 kB of JSON), so a dropped
            # connection or a quit before w keeps it: --resume shows the rows and w still writes them
            self.keep_report({**result.summary(), "folder": str(self.folder) if self.folder else ""})
            self.capp.changed("")  # saved now: a quit right after keeps it
        elif message.kind == "series-write":
            self.session.outputs["drift_table"] = str(message.result)
            self.capp.changed("")
            self.notify(f"drift table written: {message.result}", markup=False)

    def on_job_failed(self, message) -> None:
        if message.kind == "series":
            self.query_one("#series-status", Static).update(Text(f"failed: {message.message}"))

    # --- write --------------------------------------------------------------------------------
    def action_write(self) -> None:
        from calterm.inputs.series import table_path

        result = self.result
        if result is None:
            self.notify("nothing to write: r runs the series first (esc stops it, the table is kept)",
                        severity="warning")
            return
        try:
            path = table_path(str((self.folder or self.session.output_folder()) / "drift.csv"))
        except InputError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return

        def job(ctx):
            from calterm.core.series.table import write_drift_table

            ctx.report("writing the drift table")
            return str(write_drift_table(result, path, "calterm tui series"))

        self.capp.jobs.start("Write drift table", job, owner=self, kind="series-write")
