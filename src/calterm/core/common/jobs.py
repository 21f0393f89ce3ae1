"""Progress callback and cancel token shared by every long job.

A job calls ``report(stage, done, total)`` as it goes and checks ``cancel.raise_if_set()`` between
steps. Reports are small frozen dataclasses so a UI can keep only the newest one (a flood of
progress events must never lag the interface).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from calterm.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: what stage a job is in, and how far (``total`` 0 = unknown)."""

    stage: str
    done: int = 0
    total: int = 0
    elapsed_s: float = 0.0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """A thread-safe flag a UI sets and a job polls."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def raise_if_set(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass
class JobContext:
    """What a long job receives: where to report progress and what to poll for cancellation."""

    progress: ProgressCallback | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    started: float = field(default_factory=time.perf_counter)

    def report(self, stage: str, done: int = 0, total: int = 0) -> None:
        """Report progress and honour cancellation (every report is a cancellation point)."""
        self.cancel.raise_if_set()
        if self.progress is not None:
            self.progress(Progress(stage, done, total, time.perf_counter() - self.started))

    def check(self) -> None:
        self.cancel.raise_if_set()
