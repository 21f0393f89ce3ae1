"""Screen 0, gain map (``calterm gain`` in the app): positions (a frames glob and a calibration each),
options, progress, every position's radial profile with the extrapolation range, previews of the map
and of the damaged pixels, and the outputs written by the same writer as the CLI.

Keys: in Frames/Calibration, enter adds the position (``a`` outside a field); in Folder, enter
takes one position per subfolder; ``delete`` removes the highlighted position; ``r`` (or enter in
an option) computes (esc cancels); ``w`` exports ``NAME_YYYY-MM-DD.tif`` and its companions
(versioned); ``t`` cycles the tabs Setup, Profiles and Map. 2θ (the range, the profiles' axis) is
in degrees, or in radians in PONI units (``u``, :mod:`calterm.tui.units`); the range is kept in
degrees, as the parser reads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from calterm.errors import InputError
from calterm.tui.screens.tool_form import Field, ToolScreen
from calterm.tui.units import PONI, fmt, unit
from calterm.tui.widgets.density_map import DensityMap
from calterm.tui.widgets.flag_map import FlagMap
from calterm.tui.widgets.gain_profile_plot import GainProfilePlot

TABS = ("gain-setup", "gain-profiles", "gain-map")
POSITION_FIELDS = ("frames", "calibration")


class GainScreen(ToolScreen):
    MODE = "gain"
    AUTO_FOCUS = ""  # nothing focused: single keys (r, w, 0-9) act at once; tab enters the form
    HELP = ("Gain map from amorphous scattering at three or more positions: add each position's frames glob "
            "and calibration (enter, or a), or a folder; r computes (esc cancels), w exports the map, "
            "t cycles Setup / Profiles / Map.")
    FIELDS = (
        Field("frames", "Frames glob", "", "frames of one position, e.g. pos1/*.tif", wide=True),
        Field("calibration", "Calibration", "", ".poni or GSAS-II .imctrl; enter adds", wide=True),
        Field("folder", "Folder", "", "or one subfolder per position; enter loads", wide=True),
        Field("range", "Range 2θ°", "", "suggested", quantity="tth"), Field("bins", "Bins", "", "auto"),
        Field("polarization", "Polarization", "0.99"), Field("filter_size", "Filter size", "3"),
        Field("damaged_sigma", "Damaged σ", "4"), Field("form", "Form", "divide", "divide|multiply"),
        Field("detector", "Detector", "", "for .imctrl"), Field("mask", "Mask", "", "beam stop etc."),
        Field("output", "Output name", "gain", "NAME; the date is appended", wide=True),
    )
    DEFAULT_CSS = """
    GainScreen TabbedContent { height: 1fr; }
    GainScreen TabPane { padding: 0; }
    GainScreen #gain-positions { height: 1fr; min-height: 4; }
    GainScreen #gain-summary { width: 30; padding: 0 1; }
    """
    BINDINGS = [
        Binding("a", "add_position", "Add position", show=False),
        Binding("delete", "remove_position", "Remove", show=False),
        Binding("t", "next_tab", "Tab"),
    ]

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="gain-tabs"):
            with TabPane("Setup", id="gain-setup"):
                yield from self.compose_form()
                yield DataTable(id="gain-positions", cursor_type="row", zebra_stripes=True)
            with TabPane("Profiles", id="gain-profiles"):
                yield GainProfilePlot(id="gain-plot")
            with TabPane("Map", id="gain-map"), Horizontal():
                with Vertical(id="gain-summary"):
                    yield Static("no map yet: r computes it", id="gain-text")
                yield DensityMap(id="gain-preview", title="gain map")
                yield FlagMap(id="gain-damaged", title="damaged")

    def on_mount(self) -> None:
        self.computed = None
        self.query_one("#gain-positions", DataTable).add_columns("#", "frames", "calibration")
        self.query_one(GainProfilePlot).units = self.session.units

    def on_units(self) -> None:
        self.query_one(GainProfilePlot).set_units(self.session.units)
        report = self.state.get("report")
        if report:
            self._show_report(report, restored=self.computed is None)

    def on_restored(self, what: str) -> None:
        self._fill_positions()
        report = self.state.get("report")
        if what == "all" and report and self.computed is None:
            self._show_report(report, restored=True)

    # --- positions ----------------------------------------------------------------------------
    @property
    def positions(self) -> list[list[str]]:
        return self.state.setdefault("inputs", {}).setdefault("positions", [])

    def _fill_positions(self) -> None:
        table = self.query_one("#gain-positions", DataTable)
        row = table.cursor_row
        table.clear()
        for k, (frames, calibration) in enumerate(self.positions, start=1):
            table.add_row(str(k), frames, Path(calibration).name)
        if table.row_count:
            table.move_cursor(row=min(max(row, 0), table.row_count - 1))

    def action_add_position(self) -> None:
        v = self.values()
        frames, calibration = str(v["frames"]), str(v["calibration"])
        if not frames or not calibration:
            self.notify("fill Frames glob and Calibration, then enter", severity="warning")
            self.query_one("#f-frames" if not frames else "#f-calibration", Input).focus()
            return
        self.positions.append([frames, calibration])
        for key in POSITION_FIELDS:
            self.set_value(key, "")
        self._fill_positions()
        self.capp.changed("")
        self.query_one("#f-frames", Input).focus()
        self.notify(f"position {len(self.positions)} added")

    def action_remove_position(self) -> None:
        table = self.query_one("#gain-positions", DataTable)
        if self.positions and table.cursor_row >= 0:
            del self.positions[min(table.cursor_row, len(self.positions) - 1)]
            self._fill_positions()
            self.capp.changed("")

    def _load_folder(self, folder: str) -> None:
        from calterm.core.gain.files import folder_positions

        try:
            specs = folder_positions(str(Path(folder).expanduser()))
        except InputError as exc:
            self.notify(str(exc), severity="error")
            return
        self.positions[:] = [[s.frames, s.calibration] for s in specs]
        self._fill_positions()
        self.capp.changed("")
        self.notify(f"{len(specs)} positions from {folder}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        key = (event.input.id or "")[2:]
        if key in POSITION_FIELDS:
            event.prevent_default()  # not a run (the base class's handler would run next)
            self.action_add_position()
        elif key == "folder":
            event.prevent_default()
            if event.value.strip():
                self._load_folder(event.value.strip())

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + 1) % len(TABS)] if tabs.active in TABS else TABS[0]

    # --- run ----------------------------------------------------------------------------------
    def _request(self, v: dict):
        from calterm.inputs.gain import gain_request

        return gain_request(positions=[list(p) for p in self.positions], detector=v["detector"], mask=v["mask"],
                            tth_range=v["range"], bins=v["bins"], polarization=v["polarization"],
                            filter_size=v["filter_size"], damaged_sigma=v["damaged_sigma"], form=v["form"],
                            name=self.field_name)

    def action_run(self) -> None:
        request = self.parse(self._request)
        if request is None:
            return

        def job(ctx):
            return compute(request, ctx)

        self.query_one("#gain-text", Static).update("computing… (esc cancels)")
        self.query_one(GainProfilePlot).show(message="computing the gain map…")
        self.capp.jobs.start("Gain map", job, on_done=self._done,
                             on_fail=lambda rec: self.query_one("#gain-text", Static).update(
                                 f"[b]{rec.status}[/b]: {rec.message}"))

    def _done(self, computed: dict) -> None:
        self.computed = computed
        result = computed["result"]
        finite = np.isfinite(result.gain)
        lo, hi = np.percentile(result.gain[finite], [2, 99.5]) if finite.any() else (np.nan, np.nan)
        report = {**computed["report"], "map_range": [float(lo), float(hi)]}  # the preview's . and @
        report["inputs"] = [{**p, "frames": p["frames"][:20]} for p in report["inputs"]]  # the session keeps 20
        self.keep_report(report)
        self._show_report(report)
        self.query_one(DensityMap).show(result.gain, reduce="mean", log=False, square=True)
        self.query_one(FlagMap).show(result.damaged)
        self.query_one(TabbedContent).active = "gain-profiles"

    def _show_report(self, report: dict, restored: bool = False) -> None:
        lo, hi = report["tth_range_deg"]
        self.query_one(GainProfilePlot).show(report["profile"], (lo, hi))
        unc = report.get("median_uncertainty")
        lines = [f"{len(report['positions'])} positions, {report['form']} form",
                 f"range [b]{tth_range_text(lo, hi, self.session.units)}[/b] "
                 f"({'suggested' if report['range_suggested'] else 'given'})",
                 f"{len(report['iteration_changes'])} iterations, {report['extrapolated_bins']} bins extrapolated",
                 f"damaged pixels [b]{report['damaged_pixels']}[/b]",
                 f"no estimate {report['pixels_without_estimate']} px",
                 f"seen once {report.get('single_position_pixels', 0)} px (unchecked)",
                 f"median uncertainty {'-' if unc is None else f'{100 * unc:.2f} %'}",
                 f"{report.get('elapsed_s', 0):.1f} s"]
        if report.get("map_range") and None not in report["map_range"]:
            lines.append("map: . {:.3f} … @ {:.3f}".format(*report["map_range"]))
        lines.append("[dim](restored: r recomputes)[/]" if restored else "w exports the map")
        self.query_one("#gain-text", Static).update("\n".join(lines))

    # --- export -------------------------------------------------------------------------------
    def action_write(self) -> None:
        from calterm.inputs.gain import gain_output

        computed = self.computed
        if computed is None:
            self.notify("nothing to export: r computes the gain map first", severity="warning")
            return
        base = self.parse(lambda v: gain_output(self.session.output_path(v["output"] or "gain"), name=self.field_name))
        if base is None:  # a directory that cannot be written: nothing runs
            return
        request = computed["request"]

        def job(ctx):
            from calterm.core.gain.files import gain_provenance, write_outputs

            ctx.report("writing the gain map")
            return write_outputs(base, computed["result"].images(request.form), computed["report"], "calterm tui gain",
                                 gain_provenance(list(request.specs), request.form))

        def done(written: dict) -> None:
            self.session.outputs["gain"] = written["gain"]["path"]
            self.capp.changed("")
            self.notify(f"gain map written: {written['gain']['path']} -> {Path(written['gain']['version']).name} "
                        f"(+ {len(written) - 1} companions)")

        self.capp.jobs.start("Export gain map", job, on_done=done)


def tth_range_text(lo_deg: float, hi_deg: float, units: str) -> str:
    """``2.000-30.000°``, or ``0.03491-0.52360 rad`` in PONI units (0.001° either way)."""
    spec = ".5f" if units == PONI else ".3f"
    text = f"{fmt('tth', lo_deg, units, from_unit='°', spec=spec)}-{fmt('tth', hi_deg, units, from_unit='°', spec=spec)}"
    tth_unit = unit("tth", units)
    return text + (tth_unit if tth_unit == "°" else f" {tth_unit}")


def compute(request, ctx) -> dict:
    """Load the positions and compute the map (in a worker), as ``calterm gain`` does."""
    from calterm.core.gain.run import run_gain

    run = run_gain(list(request.specs), request.options, request.form, detector_name=request.detector,
                   pixel_size_um=request.pixel_size_um, mask_path=request.mask, ctx=ctx)
    return {"result": run.result, "report": run.report, "form": run.form, "request": request,
            "positions": [[s.frames, s.calibration] for s in request.specs]}
