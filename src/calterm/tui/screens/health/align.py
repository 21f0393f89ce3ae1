"""Screen 9, panel alignment (``calterm align`` in the app): the displacement of each quadrant or
layout panel, and the image before and after moving every panel back.

With a calibration (the PONI field, or the app's own calibration result) and its calibrant, the
ring fit: each panel's offset with its σ and whether it is significant (beyond 3σ), the common
geometry refined with them. Without, rotational correlation about the beam centre, with the
correlation before and after and a warning that a tilt reads as shifts.

``shift`` is where the panel's content sits relative to where it belongs (x = column, y = row,
pixels); moving the panel by -shift aligns it. The image, centre, PONI and calibrant start from the
calibration (screen 1, the result, the last PONI written); ``r`` (or enter) aligns, ``w`` writes the
corrected image, the offsets file and/or the CrystFEL geometry (versioned).

Every number shown is in pixels (shifts, σ, centre, RMS), which keep their unit in both of the app's
unit systems; the wavelength is typed in the system's unit (Å, or m with ``u``: PONI units).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from calterm.tui.screens.tool_form import Field, ToolScreen
from calterm.tui.widgets.image_preview import ImagePreview


class AlignScreen(ToolScreen):
    MODE = "align"
    AUTO_FOCUS = ""  # nothing focused: single keys (r, w, 0-9) act at once; tab enters the form
    HELP = ("Panel alignment: a powder image (a max or average of a bright run), the beam centre and the "
            "panels (quadrants, halves, modules, grid:8x8 or a layout file). With a PONI (or this session's "
            "calibration) and the calibrant: the ring fit, each offset with σ, 'SHIFT' beyond 3σ. r aligns "
            "(esc cancels); w writes the corrected image, the offsets and the CrystFEL .geom. "
            "shift = where the panel's content sits; move the panel by -shift.")
    FIELDS = (
        Field("image", "Image", "", "powder image", wide=True),
        Field("center", "Centre x,y", "", "beam centre px"), Field("search", "Search px", "20"),
        Field("panels", "Panels", "quadrants", "or a layout file"), Field("frame", "Frame", "0"),
        Field("mask", "Mask", "", "mask file (nonzero = masked)", wide=True),
        Field("corrected", "Corrected →", "", "aligned.tif"), Field("offsets", "Offsets →", "", "offsets.json"),
        Field("poni", "PONI", "", "calibration (empty: this session's result)", wide=True),
        Field("calibrant", "Calibrant", "", "for the ring fit"), Field("wavelength", "λ Å", "", "the PONI's", quantity="wavelength"),
        Field("geom", "Geom →", "", "detector.geom"),
    )
    DEFAULT_CSS = """
    AlignScreen #align-top { height: 7; }
    AlignScreen #align-table { width: 52; }
    AlignScreen #align-summary { width: 1fr; padding: 0 1; }
    AlignScreen #align-previews { height: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        yield from self.compose_form()
        with Horizontal(id="align-top"):
            yield DataTable(id="align-table", cursor_type="row", zebra_stripes=True)
            yield Static("r aligns the panels", id="align-summary")
        with Horizontal(id="align-previews"):
            yield ImagePreview(id="align-before")
            yield ImagePreview(id="align-after")

    def on_mount(self) -> None:
        self.aligned = None
        self.query_one("#align-table", DataTable).add_columns("panel", "dx px", "dy px", "σx|cc₀", "σy|cc")
        self.query_one("#align-before", ImagePreview).border_title = "before"
        self.query_one("#align-after", ImagePreview).border_title = "after: panels moved by -shift"

    def on_restored(self, what: str) -> None:
        report = self.state.get("report")
        if what == "all" and report and self.aligned is None:
            self._table(report, restored=True)

    def default_for(self, f: Field):
        s = self.session
        if f.key == "image":
            return s.request.image_path or ""
        if f.key == "center":
            if s.result is not None and s.result.detector is not None:
                # in the image's pixels: Fit2D's centre is in the detector's frame (orientation)
                return "{:.2f},{:.2f}".format(*s.result.geometry.beam_center_px(s.result.detector))
            if s.result is not None and "centerX" in s.result.fit2d:
                from calterm.core.common.geometry import fit2d_center_px

                return "{:.2f},{:.2f}".format(*fit2d_center_px(s.result.fit2d))  # no detector: orientation 3
            if s.request.center_xy is not None:
                return f"{s.request.center_xy[0]:.2f},{s.request.center_xy[1]:.2f}"
        if f.key == "poni":
            return s.outputs.get("poni", "")
        if f.key == "calibrant" and (s.result is not None or s.outputs.get("poni")):
            return s.request.calibrant or ""
        return f.default

    def _calibration(self):
        """The session's calibration result, used when no PONI file is named (None: none)."""
        return self.session.result

    # --- run ----------------------------------------------------------------------------------
    def _request(self, v: dict, outputs: bool = False):
        """The alignment to run (its outputs checked only when writing: ``r`` needs none)."""
        from calterm.inputs.align import align_request

        return align_request(image=v["image"], center=v["center"], panels=v["panels"], mask=v["mask"],
                             frame=v["frame"], search=v["search"], poni=v["poni"], calibrant=v["calibrant"],
                             wavelength=v["wavelength"], corrected=v["corrected"] if outputs else None,
                             offsets=v["offsets"] if outputs else None, geom=v["geom"] if outputs else None,
                             name=self.field_name, calibrated=self._calibration() is not None)

    def action_run(self) -> None:
        request = self.parse(self._request)
        if request is None:
            return
        result = None if request.sources.poni else self._calibration()
        base = self.session.effective_request()

        def job(ctx):
            calibration = None
            if result is not None:  # a resumed result keeps its detector as data: rebuilt here, off the loop
                from calterm.core.calibrate.result_detector import with_result_detector

                full = with_result_detector(result, base)
                calibration = (full.geometry, full.detector)
            return align(request, ctx, calibration)

        self.query_one("#align-summary", Static).update("aligning… (esc cancels)")
        self.capp.jobs.start("Align panels", job, on_done=self._done,
                             on_fail=lambda rec: self.query_one("#align-summary", Static).update(
                                 f"[b]{rec.status}[/b]: {rec.message}"))

    def _done(self, aligned: dict) -> None:
        self.aligned = aligned
        report = aligned["run"].report()
        self.keep_report(report)
        self._table(report)
        for warning in report.get("warnings", []):
            self.notify(warning, severity="warning", timeout=8)
        self.query_one("#align-before", ImagePreview).show(image=aligned["before"])
        self.query_one("#align-after", ImagePreview).show(image=aligned["after"])

    def _table(self, report: dict, restored: bool = False) -> None:
        table = self.query_one("#align-table", DataTable)
        table.clear()
        ring_fit = report.get("method") == "ring fit"
        for p in report["panels"]:
            if ring_fit:
                sx, sy = ("—" if v is None else f"{v:.3f}" for v in p["sigma"])
                # the verdict rides on the name: "!" beyond 3σ, "?" no ring peaks on the panel
                mark = {"significant shift": " !", "no significant shift": ""}.get(p["verdict"], " ?")
                table.add_row(p["name"] + mark, f"{p['shift'][0]:+.3f}", f"{p['shift'][1]:+.3f}", sx, sy)
            else:
                table.add_row(p["name"], f"{p['shift'][0]:+.2f}", f"{p['shift'][1]:+.2f}", f"{p['cc_before']:.4f}",
                              f"{p['cc']:.4f}")
        note = "[dim](restored: r recomputes)[/]" if restored else "w writes the corrected image / offsets / geom"
        if ring_fit:
            head = (f"ring fit: [b]{len(report['significant'])}/{len(report['panels'])}[/b] ! (>3σ)\n"
                    f"{report['rms_px']:.3f} px RMS")
            warn = "[yellow]residuals ≫ noise[/]" if report.get("fit_warnings") else ""
        else:
            head = f"mean cc [b]{report['cc_before']:.4f} → {report['cc_after']:.4f}[/b]"
            warn = "[yellow]tilt reads as shift[/]"
        self.query_one("#align-summary", Static).update(
            f"{head}\ncentre {report['center'][0]:.2f}, {report['center'][1]:.2f}\n"
            f"move each panel by -shift\n{note}\n{warn}")

    # --- write --------------------------------------------------------------------------------
    def action_write(self) -> None:
        from calterm.inputs.align import align_outputs

        aligned = self.aligned
        if aligned is None:
            self.notify("nothing to write: r aligns first", severity="warning")
            return
        targets = self.parse(lambda v: align_outputs(*map(self.session.output_path, (v["corrected"], v["offsets"], v["geom"])),
                                                     name=self.field_name))
        if targets is None:  # a wrong suffix or a directory that cannot be written: nothing runs
            return
        if not any(targets.values()):
            self.notify("fill Corrected →, Offsets → and/or Geom → with a file path", severity="warning")
            return
        run = aligned["run"]

        def job(ctx):
            from calterm.core.health.alignment import alignment_provenance, write_alignment_outputs

            ctx.report("writing the alignment")
            return write_alignment_outputs(run, **targets, command="calterm tui align",
                                           inputs=alignment_provenance(run.sources))

        def done(written: dict) -> None:
            for name in written:
                self.session.outputs[f"align_{name}"] = str(targets[name])
            self.capp.changed("")
            self.notify("written: " + ", ".join(f"{n} -> {Path(p).name}" for n, p in written.items()))

        self.capp.jobs.start("Write alignment", job, on_done=done)


def align(request, ctx, calibration=None) -> dict:
    """Align (in a worker) and make the before/after previews: everything the screen shows and writes."""
    import numpy as np

    from calterm.core.health.alignment import align_from_files
    from calterm.tui.preview_data import PreviewImage

    run = align_from_files(request.sources, ctx, calibration)
    fixed = run.corrected

    def preview(data, tag):
        return PreviewImage((run.sources.image, tag), np.log1p(np.clip(np.where(run.valid, data, 0), 0, None))
                            .astype(np.float32)).prepare()  # levels for the view, off the event loop

    return {"run": run, "result": run.result, "before": preview(run.image, "before"), "after": preview(fixed, "after")}
