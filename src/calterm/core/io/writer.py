"""The one output writer: every file calterm writes goes through :func:`write_output`, after
:func:`preflight` checked its path before any work started.

(Being built: today both delegate to :mod:`calterm.core.io.versions`.)
"""

from __future__ import annotations

import os
from pathlib import Path

from calterm.core.io.versions import Writer, check_writable, write_versioned
from calterm.errors import InputError

# What each kind of output may be written as (the suffix picks the format).
OUTPUT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "poni": (".poni",),
    "csv": (".csv",),
    "pattern": (".xy", ".dat", ".txt", ".chi"),
    "image": (".tif", ".tiff", ".edf", ".npy"),
    "mask": (".edf", ".mask", ".tif", ".tiff", ".npy"),
    "json": (".json",),
    "text": (".txt", ".dat", ".csv", ".json"),
}


def preflight(path: str | os.PathLike, kind: str) -> Path:
    """Check an output path before any work: known suffix for its kind, writable directory."""
    target = Path(path)
    allowed = OUTPUT_SUFFIXES[kind]
    if target.suffix.lower() not in allowed:
        raise InputError(f"{target}: a {kind} output must end in {', '.join(allowed)}")
    check_writable(target)
    return target


def write_output(path: str | os.PathLike, writer: Writer, *, command: str = "", inputs: dict | None = None) -> Path:
    """Write a new version of ``path`` atomically, make it current, log it; return the version's path."""
    return write_versioned(path, writer, command, inputs)


def write_text_output(path: str | os.PathLike, text: str, *, command: str = "", inputs: dict | None = None) -> Path:
    return write_output(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), command=command, inputs=inputs)
