"""``NAME.EXT.log``: one JSON line per write of ``NAME.EXT`` (time, command, inputs, version).

Why the log is written and read this way: each record is a single ``os.write`` of the whole line on
an ``O_APPEND`` descriptor, which the kernel applies at the end of the file in one piece, so writers
running at the same time (two ``calterm`` processes, threads of the TUI) never interleave parts of
their lines, as buffered ``open(..., "a")`` writes of long lines can. The log is opened with
``O_NOFOLLOW``: a link planted at its name is refused, never appended through. A crash can still cut
a line; the next record starts on a fresh line (checked under an advisory ``flock``, so concurrent
writers never take a line still being copied for a cut one), and the reader skips what is not a
JSON object instead of failing, so ``calterm history`` still shows everything else.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path

from calterm.errors import InputError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def log_path(target: Path) -> Path:
    return target.with_name(target.name + ".log")


def append_log(target: Path, record: dict) -> None:
    """Append one JSON line to ``NAME.EXT.log`` with a single ``os.write`` on an ``O_APPEND`` file
    (whole lines even with concurrent writers); a line a crash left unfinished is closed first."""
    line = (json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}, default=str) + "\n").encode()
    log = log_path(Path(target))
    try:
        fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR):
            raise InputError(f"{log}: the log must be a regular file, not a link or a folder") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{log}: the log must be a regular file")
        _lock(fd)  # released when the descriptor closes, or when a killed process's does
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        written = os.write(fd, line)
        while written < len(line):  # a short write (disk full): finish it; a cut line is skipped on reading
            written += os.write(fd, line[written:])
    finally:
        os.close(fd)


def _lock(fd: int) -> None:
    """Hold an advisory lock from the last-byte check to the write: without it the check can catch
    another writer's line half copied and add a needless blank line (where ``flock`` is missing or
    refused, the single ``O_APPEND`` write still keeps every line whole)."""
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)
    except (ImportError, OSError):
        pass


def read_log_checked(path: str | os.PathLike) -> tuple[list[dict], int]:
    """The log's records, oldest first, and how many damaged lines (cut, not JSON) were skipped."""
    try:
        data = log_path(Path(path)).read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return [], 0
    records: list[dict] = []
    damaged = 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            damaged += 1
    return records, damaged


def read_log(path: str | os.PathLike) -> list[dict]:
    """The log's records, oldest first; a damaged line is skipped, never an error."""
    return read_log_checked(path)[0]
