"""Long jobs in thread workers, one at a time, with coalesced progress, cancel and typed messages.

A job is a plain function ``fn(ctx) -> value`` over :class:`calterm.core.common.jobs.JobContext`,
started by :meth:`JobRunner.start` on behalf of an *owner* (the screen that asked, or the app). Its
outcome travels back to the event loop as one typed message posted to that owner, which handles it
with ``on_job_done`` / ``on_job_failed`` / ``on_job_cancelled`` (checking ``message.kind``); the
message then bubbles up to the app. Tests collect these messages and assert on what they carry.

- :class:`JobDone` ``(record, result)``: the value the job returned.
- :class:`JobFailed` ``(record, message)``: a :class:`CaltermError` or a bug, as one line, in the
  app's words (the field or key to use, not the CLI flag: :mod:`calterm.tui.wording`).
- :class:`JobCancelled` ``(record)``: esc was pressed; the job stopped at its next report (its
  record's message stays empty: "cancelled" is the status, not a reason).
- :class:`JobProgress` ``(record)``: at most one every 0.1 s per job; ``progress`` is the newest
  report when it is read. Every report only swaps :attr:`JobRecord.progress` (an atomic attribute
  store); the job bar polls the record ten times a second, so a flood of reports never lags the
  interface (toolong's lesson).

The record is finished in the worker before its message is posted, so a handler sees the final
status and may start the next job at once. Posting (``post_message``: a thread-safe enqueue) never
waits for the event loop, so a worker finishing after ctrl+q cannot keep the process alive, as
``call_from_thread`` would (it waits for an answer that never comes). Failures are also notified
as one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

from calterm.core.common.jobs import CancelToken, JobContext, Progress
from calterm.errors import CaltermError
from calterm.tui.core_imports import guarded
from calterm.tui.wording import in_app_words

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

PROGRESS_EVERY_S = 0.1


@dataclass(eq=False)
class JobRecord:
    """One job as the interface shows it; ``key`` is the inputs its result will come from."""

    name: str
    kind: str = ""
    key: dict | None = None
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

    def outcome(self) -> str:
        """How a finished job ended, in words: "done in 1.2 s", "cancelled after 0.4 s", "failed
        after 2.0 s: why" (its last progress report is not repeated: the job is over)."""
        took = f"{self.elapsed_s:.1f} s"
        if self.status == "done":
            return f"done in {took}"
        text = f"{self.status} after {took}"
        return f"{text}: {self.message}" if self.message else text

    def set_progress(self, progress: Progress) -> None:
        self.progress = progress  # newest wins; the UI reads it when it redraws


class JobMessage(Message):
    """What happened to one job; ``record`` says which (name, kind, the key of its inputs)."""

    def __init__(self, record: JobRecord) -> None:
        super().__init__()
        self.record = record

    @property
    def kind(self) -> str:
        return self.record.kind


class JobProgress(JobMessage):
    """The job moved on; read ``progress`` (the newest report, not necessarily the one that posted)."""

    @property
    def progress(self) -> Progress | None:
        return self.record.progress


class JobDone(JobMessage):
    def __init__(self, record: JobRecord, result: Any) -> None:
        super().__init__(record)
        self.result = result


class JobFailed(JobMessage):
    def __init__(self, record: JobRecord, message: str) -> None:
        super().__init__(record)
        self.message = message


class JobCancelled(JobMessage):
    pass


class JobRunner:
    """Starts jobs as exclusive thread workers and keeps their records for the jobs screen."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.current: JobRecord | None = None
        self.finished: list[JobRecord] = []
        self._callbacks: dict[JobRecord, tuple] = {}

    @property
    def busy(self) -> bool:
        return self.current is not None and self.current.running

    def start(self, name: str, fn: Callable[[JobContext], Any], *, owner: MessagePump | None = None,
              kind: str = "", key: dict | None = None, on_done: Callable[[Any], None] | None = None,
              on_fail: Callable[[JobRecord], None] | None = None) -> JobRecord | None:
        """Run ``fn`` in a worker; its messages go to ``owner`` (default: the app). None if busy.

        ``on_done(result)`` / ``on_fail(record)`` are for screens not yet moved to message handlers:
        the app calls them when the typed message reaches it (:meth:`run_callbacks`)."""
        if self.busy:
            assert self.current is not None
            self.app.notify(f"{self.current.name} is still running (esc cancels it)", severity="warning")
            return None
        target = owner if owner is not None else self.app
        record = JobRecord(name, kind or name, key)
        self.current = record
        if on_done is not None or on_fail is not None:
            self._callbacks[record] = (on_done, on_fail)
        last_post = [0.0]

        def progress(p: Progress) -> None:
            record.set_progress(p)
            now = time.perf_counter()
            if now - last_post[0] >= PROGRESS_EVERY_S:
                last_post[0] = now
                self._post(target, JobProgress(record))

        ctx = JobContext(progress=progress, cancel=record.cancel)

        def work() -> None:
            try:
                value = fn(ctx)
            except CaltermError as exc:
                if record.cancel.is_set:  # the status says it all ("cancelled: cancelled" said it twice)
                    self._finish(record, "cancelled", "")
                    self._post(target, JobCancelled(record))
                else:
                    self._finish(record, "failed", in_app_words(str(exc)))
                    self._post(target, JobFailed(record, record.message))
            except Exception as exc:  # a bug must not kill the app: one line, and the app stays usable
                self._finish(record, "failed", f"internal error: {type(exc).__name__}: {exc}")
                self._post(target, JobFailed(record, record.message))
            else:
                self._finish(record, "done", "")
                self._post(target, JobDone(record, value))

        self.app.run_worker(guarded(work), name=name, group="job", thread=True, exclusive=True, exit_on_error=False)
        return record

    def _finish(self, record: JobRecord, status: str, message: str) -> None:
        """Close the record (from the worker: the list insert and attribute stores are atomic)."""
        record.message, record.finished = message, time.perf_counter()
        self.finished.insert(0, record)
        del self.finished[50:]
        record.status = status  # last: whoever polls sees a finished record with its message
        if status != "done":
            severity = "warning" if status == "cancelled" else "error"
            with contextlib.suppress(RuntimeError):
                self.app.notify(f"{record.name} {record.outcome()}", severity=severity, timeout=8, markup=False)

    @staticmethod
    def _post(target: MessagePump, message: JobMessage) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing; nothing left to tell
            target.post_message(message)

    def run_callbacks(self, message: JobMessage) -> None:
        """The ``on_done`` / ``on_fail`` given to :meth:`start`, for a finished job's message."""
        on_done, on_fail = self._callbacks.pop(message.record, (None, None))
        if isinstance(message, JobDone) and on_done is not None:
            on_done(message.result)
        elif isinstance(message, JobFailed | JobCancelled) and on_fail is not None:
            on_fail(message.record)

    def cancel(self) -> bool:
        if self.busy:
            assert self.current is not None
            self.current.cancel.cancel()
            self.current.message = "cancelling…"
            return True
        return False
