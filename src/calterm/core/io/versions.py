"""Atomic, versioned output files: a new calibration never destroys an old one.

Writing ``NAME.EXT`` through :func:`write_versioned` stores the content as ``NAME.vK.EXT`` (K = 0, 1,
...), makes ``NAME.EXT`` a relative symbolic link to it, and appends one JSON line (time, command,
inputs, version) to ``NAME.EXT.log``. A plain file already at ``NAME.EXT`` (written by another tool)
is first kept as the next version. Every step is atomic (temp file + rename, ``os.link`` to claim
a version number), so a write killed midway leaves the previous current file intact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from calterm.errors import InputError

Writer = Callable[[Path], None]


def atomic_write(path: str | os.PathLike, writer: Writer) -> Path:
    """Call ``writer(tmp)`` on a temp file beside ``path``, fsync it, then rename it over ``path``."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{target}: directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the user's usual mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before a long computation) when an output cannot be written."""
    directory = Path(path).parent if str(Path(path).parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise InputError(f"{path}: directory {directory} is not writable")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _split(target: Path) -> tuple[str, str]:
    """``calib.poni`` -> (``calib``, ``.poni``); ``mask.tar.gz``-style names keep the last suffix."""
    return target.stem, target.suffix


def version_path(path: str | os.PathLike, k: int) -> Path:
    target = Path(path)
    stem, suffix = _split(target)
    return target.with_name(f"{stem}.v{k}{suffix}")


@dataclass(frozen=True)
class Version:
    number: int
    path: Path
    current: bool


def list_versions(path: str | os.PathLike) -> list[Version]:
    """Every stored version of ``path``, oldest first, marking the one ``path`` points at."""
    target = Path(path)
    stem, suffix = _split(target)
    pattern = re.compile(re.escape(stem) + r"\.v(\d+)" + re.escape(suffix) + "$")
    directory = target.parent if str(target.parent) else Path(".")
    current = os.readlink(target) if target.is_symlink() else None
    found = []
    for entry in directory.iterdir() if directory.is_dir() else []:
        m = pattern.match(entry.name)
        if m:
            found.append(Version(int(m.group(1)), entry, entry.name == current))
    return sorted(found, key=lambda v: v.number)


def _claim_next_version(target: Path, source: Path) -> Path:
    """Hard-link ``source`` to the first free ``NAME.vK.EXT``; ``os.link`` fails if it exists."""
    k = max((v.number for v in list_versions(target)), default=-1) + 1
    while True:
        candidate = version_path(target, k)
        try:
            os.link(source, candidate)
            return candidate
        except FileExistsError:
            k += 1
        except OSError:  # filesystems without hard links: exclusive copy
            try:
                with open(candidate, "xb") as out, open(source, "rb") as src:
                    shutil.copyfileobj(src, out)
                return candidate
            except FileExistsError:
                k += 1


def _point_current(target: Path, version: Path) -> None:
    """Atomically make ``target`` a relative link to ``version`` (a copy where links are refused)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(version.name, tmp)
    except OSError:
        shutil.copyfile(version, tmp)
    os.replace(tmp, target)


def write_versioned(
    path: str | os.PathLike, writer: Writer, command: str = "", inputs: dict | None = None
) -> Path:
    """Write a new version of ``path`` and make it current; return the version's path."""
    target = Path(path)
    if target.exists() and not target.is_symlink():
        _claim_next_version(target, target)  # keep a foreign file as a version before replacing it
    staged = target.with_name(f".{target.name}.{os.getpid()}.new{target.suffix}")
    atomic_write(staged, writer)
    try:
        version = _claim_next_version(target, staged)
    finally:
        staged.unlink(missing_ok=True)
    _point_current(target, version)
    _log(target, {"version": version.name, "command": command, "inputs": inputs or {}})
    return version


def set_current(path: str | os.PathLike, number: int, command: str = "restore") -> Path:
    """Go back (or forward) to version ``number``: one atomic link change, logged."""
    target = Path(path)
    version = version_path(target, number)
    if not version.is_file():
        raise InputError(f"{target}: no version {number}")
    _point_current(target, version)
    _log(target, {"version": version.name, "command": command, "inputs": {}})
    return version


def _log(target: Path, record: dict) -> None:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}
    with open(target.with_name(target.name + ".log"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def read_log(path: str | os.PathLike) -> list[dict]:
    log = Path(path).with_name(Path(path).name + ".log")
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
