"""A folder watched for new images (watchdog, as Dioptas' autoprocessing does): each new file is
handed on once it has stopped growing, so a detector still writing it is not read half-way.

The stream ends cleanly, with its reason in :attr:`FolderWatch.stop_reason`, when the folder
disappears, when nothing new arrived for ``idle_s`` seconds (if set), after ``max_images``, or
when the job is cancelled. Files already in the folder are not processed (only new ones).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path

from calterm.core.common.jobs import JobContext

POLL_S = 0.1


class FolderWatch:
    """Iterate over the new image files of ``folder`` matching ``pattern``, each when complete."""

    def __init__(self, folder: str | os.PathLike, ctx: JobContext | None = None, pattern: str = "*",
                 settle_s: float = 0.3, idle_s: float | None = None, max_images: int | None = None) -> None:
        self.folder = Path(folder)
        self.ctx = ctx or JobContext()
        self.pattern = pattern
        self.settle_s = settle_s
        self.idle_s = idle_s
        self.max_images = max_images
        self.stop_reason = ""

    def _wanted(self, path: str) -> bool:
        name = os.path.basename(path)
        return not name.startswith(".") and fnmatch.fnmatch(name, self.pattern)

    def __iter__(self) -> Iterator[str]:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        events: queue.Queue[str] = queue.Queue()
        wanted = self._wanted

        class Handler(FileSystemEventHandler):
            def on_created(self, event):
                if not event.is_directory and wanted(event.src_path):
                    events.put(event.src_path)

            def on_modified(self, event):
                self.on_created(event)

            def on_moved(self, event):  # written elsewhere then renamed in: the usual atomic landing
                if not event.is_directory and wanted(event.dest_path):
                    events.put(event.dest_path)

        observer = Observer()
        observer.schedule(Handler(), str(self.folder), recursive=False)
        observer.start()
        pending: dict[str, tuple[int, float]] = {}  # path -> (size, when it last changed)
        done: set[str] = set()
        last_new = time.monotonic()
        try:
            while True:
                if self.ctx.cancel.is_set:
                    self.stop_reason = "cancelled"
                    return
                if not self.folder.is_dir():
                    self.stop_reason = f"{self.folder} disappeared"
                    return
                try:
                    path = events.get(timeout=POLL_S)
                    if path not in done:
                        pending.setdefault(path, (-1, time.monotonic()))
                    continue  # drain the events first
                except queue.Empty:
                    pass
                now = time.monotonic()
                for path in sorted(pending):
                    size = _size(path)
                    old, since = pending[path]
                    if size is None:  # gone before it settled
                        del pending[path]
                    elif size != old:
                        pending[path] = (size, now)
                    elif now - since >= self.settle_s:
                        del pending[path]
                        done.add(path)
                        last_new = time.monotonic()
                        yield path
                        if self.max_images is not None and len(done) >= self.max_images:
                            self.stop_reason = f"{len(done)} images"
                            return
                if self.idle_s is not None and not pending and time.monotonic() - last_new > self.idle_s:
                    self.stop_reason = f"nothing new for {self.idle_s:g} s"
                    return
        finally:
            observer.stop()
            with contextlib.suppress(RuntimeError):  # never started
                observer.join(timeout=2.0)


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None
