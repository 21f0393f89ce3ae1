"""Screen 4, jobs: the running job in full (stage, counts, bar, elapsed time) and the jobs before it,
with how each ended. Every long computation of the app runs as one of these jobs, in a worker,
one at a time; esc cancels the running one at its next step."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from calterm.tui.screens.base import CaltermScreen


class JobsScreen(CaltermScreen):
    MODE = "jobs"
    AUTO_FOCUS = "#history"
    HELP = "The running job and the jobs before it. esc cancels the running job."
    DEFAULT_CSS = """
    JobsScreen #current { height: 5; border: round $panel; padding: 0 1; }
    JobsScreen #stage { height: 2; }
    JobsScreen ProgressBar { height: 1; }
    JobsScreen DataTable { height: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        with Vertical(id="current"):
            yield Static("no job has run yet", id="stage")
            yield ProgressBar(total=1, show_eta=False, id="bar")  # still until a job runs (a pulse would say one does)
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).add_columns("job", "outcome", "seconds", "why")
        self._shown = None
        self.set_interval(0.2, self.tick)

    def tick(self) -> None:
        jobs = self.capp.jobs
        record = jobs.current
        bar = self.query_one("#bar", ProgressBar)
        if record is not None:
            p = record.progress
            if record.running:
                stage = p.stage if p else "starting"
                counts = f" {p.done}/{p.total}" if p and p.total else ""
                how = f"running: {stage}{counts}   {record.elapsed_s:.1f} s  (esc cancels)"
            else:  # the last progress report ("refine 0/50") is history: say how it ended
                how = record.outcome()
            self.query_one("#stage", Static).update(Text.assemble((record.name, "bold"), " ", how))
            if record.running and p and p.total:
                bar.update(total=p.total, progress=p.done)
            elif record.running:
                bar.update(total=None)
            elif record.status == "done":
                bar.update(total=1, progress=1)
            else:  # cancelled or failed: the bar stops where the job stopped
                bar.update(total=max(p.total, 1) if p else 1, progress=p.done if p and p.total else 0)
        key = (len(jobs.finished), id(jobs.finished[0]) if jobs.finished else None)
        if key != self._shown:
            self._shown = key
            table = self.query_one("#history", DataTable)
            table.clear()
            for rec in jobs.finished:
                table.add_row(rec.name, rec.status, f"{rec.elapsed_s:.2f}", Text(rec.message[:60]))
