"""Screen 7, dark statistics (``calterm dark`` in the app): frames from files, globs and list files,
streamed into average, standard deviation, max and min images over local processes, with progress
in frames per second, a summary, a preview, and the images written as new versions.

``r`` (or enter in a field) runs; ``w`` writes the images whose paths are filled; ``v`` cycles the
preview between average, std and max. Written paths become the mask screen's inputs.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from calterm.tui.screens.tool_form import Field, ToolScreen
from calterm.tui.widgets.density_map import DensityMap

SHOWN = ("average", "std", "max")


class DarkScreen(ToolScreen):
    MODE = "dark"
    AUTO_FOCUS = ""  # nothing focused: single keys (r, w, 0-9) act at once; tab enters the form
    HELP = ("Dark-run statistics: frames (files or quoted globs, space-separated; FILE.h5::/data for HDF5) "
            "and list files, then r runs (esc cancels). w writes the average/std/max images (versioned); "
            "v cycles the preview.")
    FIELDS = (
        Field("files", "Frames", "", "files or globs, e.g. run12/dark_*.tif", wide=True),
        Field("lists", "List files", "", "files listing one path or glob per line", wide=True),
        Field("workers", "Workers", "1", "processes"),
        Field("sample_std", "Sample std", False),
        Field("clip_sigma", "Clip σ", "", "off"),
        Field("gate_sigma", "Gate σ", "", "off"),
        Field("average", "Average →", "", "dark_avg.tif", wide=True),
        Field("std", "Std →", "", "dark_std.tif", wide=True),
        Field("max", "Max →", "", "dark_max.tif", wide=True),
    )
    DEFAULT_CSS = """
    DarkScreen #dark-body { height: 1fr; }
    DarkScreen #dark-summary { width: 40; height: 1fr; padding: 0 1; }
    """
    BINDINGS = [Binding("v", "cycle_preview", "Preview")]

    def compose_body(self) -> ComposeResult:
        yield from self.compose_form()
        with Horizontal(id="dark-body"):
            yield Static("no statistics yet: fill Frames, then r (or enter)", id="dark-summary")
            yield DensityMap(id="dark-preview", title="average")

    def on_mount(self) -> None:  # the base's on_mount runs next (Textual calls both)
        self.result = None
        self.result_lists: tuple[str, ...] = ()
        self.shown = "average"

    def on_restored(self, what: str) -> None:
        report = self.state.get("report")
        if what == "all" and report and self.result is None:
            self._summary(report, restored=True)

    # --- run ----------------------------------------------------------------------------------
    def _request(self, v: dict):
        from calterm.inputs.health import dark_request

        return dark_request(files=str(v["files"]), lists=str(v["lists"]), sample_std=bool(v["sample_std"]),
                            clip_sigma=v["clip_sigma"], gate_sigma=v["gate_sigma"], workers=v["workers"],
                            name=self.field_name)

    def action_run(self) -> None:
        request = self.parse(self._request)
        if request is None:
            return

        def job(ctx):
            from calterm.core.common.jobs import JobContext
            from calterm.core.health.dark import compute_dark, with_rate
            from calterm.core.io.frames import expand_sources

            ctx.report("listing frames")
            paths = expand_sources(list(request.files), list(request.lists))
            return compute_dark(paths, request.options, JobContext(progress=with_rate(ctx.progress),
                                                                   cancel=ctx.cancel))

        self.query_one("#dark-summary", Static).update("running… (esc cancels)")
        self.capp.jobs.start("Dark statistics", job, on_done=lambda result: self._done(result, request.lists),
                             on_fail=lambda rec: self.query_one("#dark-summary", Static).update(
                                 f"[b]{rec.status}[/b]: {rec.message}"))

    def _done(self, result, lists: tuple[str, ...] = ()) -> None:
        self.result = result
        self.result_lists = lists  # the list files it came from (logged with the written images)
        report = result.report()
        report["skipped"] = report["skipped"][:20]
        report["gated"] = report["gated"][:20]
        self.keep_report(report)
        self._summary(report)
        self._preview()

    def _summary(self, report: dict, restored: bool = False) -> None:
        med = report.get("median", {})

        def fmt(v):
            return "-" if v is None else f"{v:.4g}"

        nonfinite = report.get("frames_nonfinite", 0)  # absent from sessions saved before it was counted
        lines = [f"[b]{report['frames_used']}[/b] frames used, {report['frames_skipped']} skipped"
                 + (f" ([yellow]{nonfinite} NaN/Inf[/])" if nonfinite else "") + f", {report['frames_gated']} gated",
                 f"{report['time_s']} s · [b]{report.get('frames_per_s') or 0:.0f} frames/s[/b] · "
                 f"{report['workers']} worker(s), {report['passes']} pass(es)",
                 f"shape {report['shape'][1]}x{report['shape'][0]} · std {report['std']}",
                 f"median average {fmt(med.get('average'))}  std {fmt(med.get('std'))}",
                 f"median max {fmt(med.get('max'))}  min {fmt(med.get('min'))}",
                 f"pixels without data {report['pixels_without_data']}"]
        if report.get("frames_partly_nonfinite"):
            lines.append(f"{report['frames_partly_nonfinite']} frames with some NaN/Inf pixels (left out)")
        for s in report.get("skipped", [])[:3]:
            lines.append(f"[yellow]skipped {Path(s['source']).name}[/]: {s['reason'][:30]}")
        if restored:
            lines.append("[dim](restored: r recomputes the images)[/]")
        else:
            lines.append("w writes the images")
        self.query_one("#dark-summary", Static).update("\n".join(lines))

    def _preview(self) -> None:
        preview = self.query_one(DensityMap)
        if self.result is None:
            preview.show(message="r computes the statistics", title=self.shown)
            return
        preview.show(getattr(self.result, self.shown), title=f"{self.shown} (. low … @ high)", reduce="mean",
                     log=False, square=True)

    def action_cycle_preview(self) -> None:
        self.shown = SHOWN[(SHOWN.index(self.shown) + 1) % len(SHOWN)]
        self._preview()

    # --- write --------------------------------------------------------------------------------
    def action_write(self) -> None:
        from calterm.inputs.health import dark_outputs

        result = self.result
        if result is None:
            self.notify("nothing to write: r computes the statistics first", severity="warning")
            return
        targets = self.parse(lambda v: dark_outputs({name: self.session.output_path(v[name]) for name in SHOWN},
                                                    name=self.field_name))
        if targets is None:  # nothing filled, a wrong suffix or a directory that cannot be written
            return
        lists = self.result_lists

        def job(ctx):
            from calterm.core.health.dark import dark_provenance, write_dark_outputs

            ctx.report("writing the statistics images", 0, len(targets))
            return write_dark_outputs(result, targets, "calterm tui dark", dark_provenance(result, lists))

        def done(written: dict) -> None:
            for name in written:
                self.session.outputs[f"dark_{name}"] = str(targets[name])
            mask_inputs = self.session.tools.setdefault("mask", {}).setdefault("inputs", {})
            # the mask screen starts from the average and std just written; a dark run's max is not
            # the rule's (bright-run) maximum, so it never fills the mask's "Bright max"
            for name in written:
                if name in ("average", "std"):
                    mask_inputs[name] = str(targets[name])
            self.capp.changed("")
            self.notify("written: " + ", ".join(f"{n} -> {Path(p).name}" for n, p in written.items()))

        self.capp.jobs.start("Write dark images", job, on_done=done)
