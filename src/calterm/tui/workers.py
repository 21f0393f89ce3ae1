"""Long jobs in thread workers, one at a time, with coalesced progress and cancel.

A job is a plain function ``fn(ctx) -> value`` over :class:`calterm.core.common.jobs.JobContext`. Its
progress callback only stores the newest :class:`Progress` on the :class:`JobRecord` (an atomic
attribute swap); the job bar polls that record a few times a second, so a flood of progress
reports can never lag the interface (toolong's lesson). The outcome comes back to the event loop
through ``call_from_thread``; errors become one-line notifications, never tracebacks.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from calterm.core.common.jobs import CancelToken, JobContext, Progress
from calterm.errors import CaltermError
from calterm.tui.core_imports import guarded

if TYPE_CHECKING:
    from textual.app import App


@dataclass
class JobRecord:
    """One job as the interface shows it."""

    name: str
    started: float = field(default_factory=time.perf_counter)
    status: str = "running"  # running, done, cancelled, failed
    progress: Progress | None = None
    message: str = ""
    finished: float | None = None
    cancel: CancelToken = field(default_factory=CancelToken)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def set_progress(self, progress: Progress) -> None:
        self.progress = progress  # newest wins; the UI reads it when it redraws


class JobRunner:
    """Starts jobs as exclusive thread workers and keeps their records for the jobs screen."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.current: JobRecord | None = None
        self.finished: list[JobRecord] = []

    @property
    def busy(self) -> bool:
        return self.current is not None and self.current.running

    def start(self, name: str, fn: Callable[[JobContext], Any], on_done: Callable[[Any], None] | None = None,
              on_fail: Callable[[JobRecord], None] | None = None) -> JobRecord | None:
        """Run ``fn`` in a worker; ``on_done(value)`` runs on the event loop when it succeeds."""
        if self.busy:
            assert self.current is not None
            self.app.notify(f"{self.current.name} is still running (esc cancels it)", severity="warning")
            return None
        record = JobRecord(name)
        self.current = record
        ctx = JobContext(progress=record.set_progress, cancel=record.cancel)

        def work() -> None:
            try:
                value = fn(ctx)
            except CaltermError as exc:
                status = "cancelled" if record.cancel.is_set else "failed"
                self._from_thread(self._finish, record, status, str(exc), None, None, on_fail)
            except Exception as exc:  # a bug must not kill the app: one line, and the app stays usable
                self._from_thread(self._finish, record, "failed", f"internal error: {type(exc).__name__}: {exc}",
                                  None, None, on_fail)
            else:
                self._from_thread(self._finish, record, "done", "", value, on_done, on_fail)

        self.app.run_worker(guarded(work), name=name, group="job", thread=True, exclusive=True, exit_on_error=False)
        return record

    def _from_thread(self, fn, *args) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing; nothing left to tell
            self.app.from_thread(fn, *args)  # type: ignore[attr-defined]

    def _finish(self, record: JobRecord, status: str, message: str, value, on_done, on_fail) -> None:
        record.status, record.message, record.finished = status, message, time.perf_counter()
        self.finished.insert(0, record)
        del self.finished[50:]
        if status == "done":
            if on_done is not None:
                on_done(value)
        else:
            if on_fail is not None:
                on_fail(record)
            severity = "warning" if status == "cancelled" else "error"
            self.app.notify(f"{record.name}: {message or status}", severity=severity, timeout=8)

    def cancel(self) -> bool:
        if self.busy:
            assert self.current is not None
            self.current.cancel.cancel()
            self.current.message = "cancelling…"
            return True
        return False
