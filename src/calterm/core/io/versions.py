"""Atomic, versioned output files: a new calibration never destroys an old one.

Writing ``NAME.EXT`` stores the content as ``NAME.vK.EXT`` (K = 0, 1, ...), makes ``NAME.EXT`` a
relative symbolic link to it, and appends one JSON line (time, command, inputs, version) to
``NAME.EXT.log``. A plain file already at ``NAME.EXT`` (written by another tool) is first kept as the
next version; a link there that calterm did not make is refused, never replaced or followed.

This module is the vocabulary of file versions that ``calterm history``, the screens and the tests
speak (list, restore, read the log). The writing itself lives in one place,
:mod:`calterm.core.io.writer` (why each of its rules exists is said there), and the log's format in
:mod:`calterm.core.io.versionlog`; the names below are that code, so no second path to a file exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from calterm.core.io.versionlog import read_log, read_log_checked
from calterm.core.io.writer import (
    Version,
    Writer,
    atomic_write,
    atomic_write_text,
    check_writable,
    list_versions,
    set_current,
    version_path,
    write_output,
)

__all__ = ["Version", "Writer", "atomic_write", "atomic_write_text", "check_writable", "list_versions",
           "read_log", "read_log_checked", "set_current", "version_path", "write_versioned"]


def write_versioned(
    path: str | os.PathLike, writer: Writer, command: str = "", inputs: dict | None = None
) -> Path:
    """Write a new version of ``path`` and make it current; return the version's path (the older,
    positional spelling of :func:`calterm.core.io.writer.write_output`)."""
    return write_output(path, writer, command=command, inputs=inputs)
