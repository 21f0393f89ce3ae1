"""The progress line of whatever job runs: stage, counts, bar, elapsed time, and how to cancel;
between jobs, where outputs go (the session bar's end is cut first at 80 columns).

It polls the job record ten times a second instead of receiving every report, so a job that
reports thousands of times a second costs the interface nothing (see :mod:`calterm.tui.workers`).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from calterm.tui.widgets.session_bar import short_folder


class JobBar(Static):
    DEFAULT_CSS = """
    JobBar { height: 1; background: $boost; color: $foreground; }
    """

    def on_mount(self) -> None:
        self._last = None
        self.set_interval(0.1, self.tick)
        self.tick()

    def tick(self) -> None:
        jobs = getattr(self.app, "jobs", None)
        record = jobs.current if jobs is not None else None
        if record is None:
            session = getattr(self.app, "session", None)
            folder = f"outputs → {short_folder(session.output_folder())} · " if session is not None else ""
            text = Text(f" ready: {folder}c calibrates · ctrl+p actions · ? keys", style="dim")
        elif record.running:
            text = self._running_text(record)
        else:
            mark, style = {"done": ("✓", "green"), "cancelled": ("■", "yellow")}.get(record.status, ("✗", "red"))
            text = Text(f" {mark} {record.name} {record.outcome()}", style=style)
        key = text.plain
        if key != self._last:
            self._last = key
            self.update(text)

    def _running_text(self, record) -> Text:
        p = record.progress
        stage = p.stage if p else "starting"
        counts = f" {p.done}/{p.total}" if p and p.total else ""
        head = f" ⟳ {record.name}: {stage}{counts} "
        tail = f" {record.elapsed_s:5.1f} s  esc cancel"
        frac = p.fraction if p else None
        width = max(self.size.width - len(head) - len(tail) - 5, 0)
        text = Text(head, style="bold")
        if frac is not None and width >= 5:
            filled = int(round(frac * width))
            text.append("━" * filled, style="green")
            text.append("━" * (width - filled), style="dim")
            text.append(f" {100 * frac:3.0f}%")
        text.append(tail)
        if record.message:
            text.append(f" ({record.message})", style="yellow")
        return text
