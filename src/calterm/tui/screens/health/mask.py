"""Screen 8, pixel mask (``calterm mask`` in the app): rules on dark-run statistics, the number of
pixels each rule flags, a preview of the mask, and the mask written as a new version.

Defaults are cxi.make_dials_mask's (good when 0 < average <= 2000, 0 < std <= 10 of a dark run, and
bright max >= 300 when a bright run's maximum is given: the dark screen fills average and std only);
a bound of ``none`` (or empty) switches a rule off. The mask is rebuilt as rules are typed (a worker,
so a 16-Mpixel detector never blocks the keys) or with ``r``/enter; ``w`` writes it (1 = masked,
pyFAI's convention, unless "1 = good" is ticked). A mask whose pixel rules flag more than "Limit %"
of the detector is shown with the rule that did it and written only with "Force" ticked (as the
CLI's ``--max-share``/``--force``).
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from calterm.errors import InputError
from calterm.tui.screens.tool_form import Field, ToolScreen
from calterm.tui.widgets.flag_map import FlagMap
from calterm.tui.wording import in_app_words

BOUNDS = ("average_min", "average_max", "std_min", "std_max", "bright_max_min")  # as inputs.health.MASK_BOUNDS


class MaskScreen(ToolScreen):
    MODE = "mask"
    AUTO_FOCUS = ""  # nothing focused: single keys (r, w, 0-9) act at once; tab enters the form
    HELP = ("Pixel mask from dark statistics: a pixel is good when every rule holds ('none' switches a "
            "bound off). Counts and preview follow as you type; r rebuilds, w writes the mask (versioned).")
    FIELDS = (
        Field("average", "Average", "", "average image of a dark run", wide=True),
        Field("std", "Std", "", "standard deviation image", wide=True),
        Field("bright_max", "Bright max", "", "max image of a bright run (optional)", wide=True),
        Field("average_min", "avg >", "0"), Field("average_max", "avg ≤", "2000"),
        Field("std_min", "std >", "0"), Field("std_max", "std ≤", "10"),
        Field("bright_max_min", "bmax ≥", "300"), Field("border", "Border px", "0"),
        Field("average_sigma", "avg ±kσ", "", "off"), Field("std_sigma", "std ±kσ", "", "off"),
        Field("detector", "Detector", "", "add its gaps"), Field("combine", "Combine", "", "mask files"),
        Field("output", "Output →", "mask.edf", ".edf .mask .tif .npy"), Field("good", "1 = good", False),
        Field("max_share", "Limit %", "20", "none: no limit"), Field("force", "Force", False),
    )
    DEFAULT_CSS = """
    MaskScreen #mask-body { height: 1fr; }
    MaskScreen #mask-side { width: 36; }
    MaskScreen #mask-counts { height: 1fr; }
    MaskScreen #mask-summary { height: auto; max-height: 4; padding: 0 1; }
    """

    def compose_body(self) -> ComposeResult:
        yield from self.compose_form()
        with Horizontal(id="mask-body"):
            with Vertical(id="mask-side"):
                yield Static("fill the statistics images", id="mask-summary")
                yield DataTable(id="mask-counts", cursor_type="row", zebra_stripes=True)
            yield FlagMap(id="mask-preview", title="masked")

    def on_mount(self) -> None:
        self.result = self.result_request = self.problem = None
        self._images: dict[str, tuple[tuple, object]] = {}  # path -> (mtime, size), array: read once
        self._timer = None
        self.query_one("#mask-counts", DataTable).add_columns("rule", "pixels", "%")

    def on_restored(self, what: str) -> None:
        self.rebuild()  # inputs may have changed elsewhere (the dark screen's written images)

    def on_field_changed(self, key: str) -> None:
        if key not in ("output", "force"):
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.set_timer(0.3, self.rebuild)

    # --- building -----------------------------------------------------------------------------
    def _request(self, v: dict):
        from calterm.inputs.health import mask_request

        return mask_request(average=v["average"], std=v["std"], bright_max=v["bright_max"],
                            bounds={key: v[key] for key in BOUNDS}, average_sigma=v["average_sigma"],
                            std_sigma=v["std_sigma"], border=v["border"], detector=v["detector"],
                            combine=str(v["combine"]), good=bool(v["good"]), max_share=v["max_share"],
                            force=bool(v["force"]), name=self.field_name)

    def rebuild(self) -> None:
        """Rebuild the mask from the current fields (quietly: a half-typed rule just waits)."""
        try:
            request = self._request(self.values())
        except InputError as exc:
            self.query_one("#mask-summary", Static).update(f"[dim]{exc}[/]")
            return
        self._build(request)

    def action_run(self) -> None:
        request = self.parse(self._request)
        if request is not None:
            self._build(request)

    def _read(self, path: str):
        """A statistics image as float, cached by path and modification time."""
        from calterm.core.health.mask import read_stat_image

        p = Path(path).expanduser()
        try:
            stamp = (p.stat().st_mtime_ns, p.stat().st_size)
        except OSError:
            raise InputError(f"{path}: no such file") from None
        cached = self._images.get(str(p))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = read_stat_image(p)
        self._images[str(p)] = (stamp, data)
        return data

    @work(thread=True, exclusive=True, group="mask-preview")
    def _build(self, request) -> None:
        from calterm.core.health.mask import build_mask_from_files

        try:
            result = build_mask_from_files(request.sources, request.rules, read=self._read)
        except Exception as exc:  # a wrong path or shape: said in the summary, the form stays usable
            message = in_app_words(str(exc)) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
            self.call_later(self._failed, message)
            return
        self.call_later(self._show, result, request)

    def _failed(self, message: str) -> None:
        self.result = self.result_request = self.problem = None
        self.query_one("#mask-summary", Static).update(f"[red]{message}[/]")
        self.query_one("#mask-counts", DataTable).clear()
        self.query_one(FlagMap).show(message="no mask")

    def _show(self, result, request=None) -> None:
        from calterm.core.health.mask import rule_text, share_problem

        self.result = result
        self.result_request = request  # what the shown mask was built from (logged when written)
        self.problem = None if request is None else share_problem(result, request.rules, request.max_share)
        n = result.mask.size
        after = "w writes the mask"
        if self.problem:  # the whole line goes to the notice when w is refused; here, the main rule
            share, rule = max((v, k) for k, v in result.shares.items() if k != "all pixel rules")
            after = (f"[red]over the {100 * request.max_share:g} % limit: {rule} ({rule_text(rule, request.rules)}) "
                     f"{100 * share:.1f} %[/]; tick Force to write it")
        self.query_one("#mask-summary", Static).update(
            f"[b]{result.masked}[/b] of {n} masked ({100 * result.masked / n:.2f} %)\n{after}")
        table = self.query_one("#mask-counts", DataTable)
        table.clear()
        for name, count in result.counts.items():
            table.add_row(name, str(count), f"{100 * count / n:.2f}")
        table.add_row("total", str(result.masked), f"{100 * result.masked / n:.2f}")
        self.query_one(FlagMap).show(result.mask)
        self.keep_report(result.report())

    # --- write --------------------------------------------------------------------------------
    def action_write(self) -> None:
        from calterm.inputs.health import mask_output

        result = self.result
        if result is None:
            self.notify("no mask yet: fill the statistics images (r rebuilds)", severity="warning")
            return
        out = self.parse(lambda v: mask_output(self.session.output_path(v["output"]), name=self.field_name))
        if out is None:  # no path, a wrong suffix or a directory that cannot be written: nothing runs
            return
        request, good = self.result_request, bool(self.values()["good"])
        if self.problem and not self.values()["force"]:  # refused, as the CLI without --force
            self.notify(f"{self.problem}; nothing written (tick Force to write it)", severity="error")
            return

        def job(ctx):
            from calterm.core.health.mask import mask_provenance, write_mask_output

            ctx.report("writing the mask")
            return write_mask_output(result, out, good=good, command="calterm tui mask",
                                     inputs=mask_provenance(request.sources, request.rules))

        def done(version) -> None:
            self.session.outputs["mask"] = str(out)
            self.capp.changed("")
            self.notify(f"mask written: {out} -> {Path(version).name} "
                        f"({'1 = good' if good else '1 = masked'})")

        self.capp.jobs.start("Write mask", job, on_done=done)
