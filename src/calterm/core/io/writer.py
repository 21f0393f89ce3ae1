"""The one output writer: every file calterm writes goes through :func:`write_output`, after
:func:`preflight` checked its path before any work started.

What a write leaves on disk (the README's promise: an output is never overwritten):

- ``NAME.vK.EXT`` (K = 0, 1, ...) holds the content; a number is claimed with ``os.link``, which
  fails when the name exists, so two writers never share a version.
- ``NAME.EXT`` is a relative symbolic link to the newest version (a copy where the filesystem refuses
  links), changed with one ``os.replace``: readers see the old file or the new one, never half.
- ``NAME.EXT.log`` gets one JSON line per write (time, command, inputs, version).

Why each rule:

- *Private staging.* The content is written in a directory made fresh for this write by
  ``mkdtemp`` (random name, created exclusively, mode 0700), under the output's own name so the
  suffix still picks the format. Predictable names such as ``.NAME.PID.link`` let another user of a
  shared folder plant a symbolic link there before calterm writes; nobody else can enter the staging
  directory, and every file in it is created with ``O_EXCL | O_NOFOLLOW``.
- *Never through a link.* Files are opened with ``O_NOFOLLOW``, hard links are made with
  ``follow_symlinks=False``, and a ``NAME.EXT`` or ``NAME.EXT.log`` that is a link calterm did not make
  (one pointing anywhere but ``NAME.vK.EXT`` beside it) is refused with one line, never replaced or
  written through. A plain file another tool left at ``NAME.EXT`` is kept as the next version.
- *Atomic log lines* (:mod:`calterm.core.io.versionlog`): one ``os.write`` per record on an
  ``O_APPEND`` file, and a reader that skips a damaged line instead of failing.
- *Preflight.* Suffix, folder, link and a real create-probe are checked before a long computation,
  so a bad path costs one line (exit 2) and nothing is written.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from calterm.core.io.versionlog import append_log, log_path, read_log
from calterm.errors import InputError

Writer = Callable[[Path], None]

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

STAGING_PREFIX = ".calterm-"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_STAGED: set[Path] = set()  # files being staged now: formatters called on them write in place


# --- names -------------------------------------------------------------------------------------
def _directory(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def version_path(path: str | os.PathLike, k: int) -> Path:
    """``calib.poni`` -> ``calib.vK.poni`` (only the last suffix counts: ``a.tar.gz`` -> ``a.tar.vK.gz``)."""
    target = Path(path)
    return target.with_name(f"{target.stem}.v{k}{target.suffix}")


def _version_pattern(target: Path) -> re.Pattern:
    return re.compile(re.escape(target.stem) + r"\.v(\d+)" + re.escape(target.suffix) + "$")


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


# --- checks ------------------------------------------------------------------------------------
def check_writable(path: str | os.PathLike) -> None:
    """The folder of ``path`` exists and a file can be created in it (a real try: permission bits
    do not tell under root, on read-only mounts or in ``/proc``)."""
    directory = _directory(Path(path))
    if not directory.exists():
        raise InputError(f"{path}: directory {directory} does not exist")
    if not directory.is_dir():
        raise InputError(f"{path}: {directory} is not a directory")
    if not os.access(directory, os.W_OK):
        raise InputError(f"{path}: directory {directory} is not writable")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=STAGING_PREFIX + "probe-", dir=directory))
    except OSError as exc:
        raise InputError(f"{path}: cannot write in {directory} ({exc.strerror or exc})") from None


def _foreign_link(target: Path) -> str | None:
    """Where ``target`` points when it is a link calterm did not make (None otherwise)."""
    try:
        pointed = os.readlink(target)
    except OSError:
        return None
    return None if _version_pattern(target).match(pointed) and "/" not in pointed else pointed


def check_target(target: Path) -> None:
    """``NAME.EXT`` and its log may be replaced: not a folder, not a link pointing outside calterm's
    versions, nothing but a regular file."""
    info = _lstat(target)
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{target}: is a directory, not a file name")
        if stat.S_ISLNK(info.st_mode) and (pointed := _foreign_link(target)) is not None:
            raise InputError(f"{target}: is a link to {pointed}, not to one of its versions; "
                             "calterm will not replace it (remove it or choose another name)")
        if not stat.S_ISLNK(info.st_mode) and not stat.S_ISREG(info.st_mode):
            raise InputError(f"{target}: is not a regular file")
    log_info = _lstat(log_path(target))
    if log_info is not None and not stat.S_ISREG(log_info.st_mode):
        raise InputError(f"{log_path(target)}: the log must be a regular file, not a link or a folder")


def preflight(path: str | os.PathLike, kind: str) -> Path:
    """Check an output path before any work: a suffix of its kind (any case), a folder that exists
    and takes a new file, and nothing in the way at ``NAME.EXT`` or its log. Returns the path."""
    target = Path(path)
    allowed = OUTPUT_SUFFIXES[kind]
    if target.suffix.lower() not in allowed:
        raise InputError(f"{target}: {'an' if kind[0] in 'aeiou' else 'a'} {kind} output must end in {', '.join(allowed)}")
    check_target(target)
    check_writable(target)
    return target


# --- staging -----------------------------------------------------------------------------------
def _create_exclusive(path: Path) -> int:
    """A new file, never an existing one and never through a link (mode 0666 less the umask)."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)


def _fsync(path: Path, *, directory: bool = False) -> None:
    """Push ``path`` to disk; a folder that cannot be synced is fine, a file that cannot is not."""
    flags = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not directory or exc.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _remove_stage(stage: Path) -> None:
    """Remove the private folder and whatever a writer left in it (never following a link; a
    failure here must not hide the error that brought us here)."""
    shutil.rmtree(stage, ignore_errors=True)


def _stage(target: Path, writer: Writer) -> tuple[Path, Path]:
    """``writer(file)`` on ``STAGE/NAME.EXT`` in a fresh private folder; the file synced to disk."""
    if not _directory(target).is_dir():
        raise InputError(f"{target}: directory {_directory(target)} does not exist")
    stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=_directory(target)))
    staged = stage / target.name
    try:
        os.close(_create_exclusive(staged))
        _STAGED.add(staged)
        try:
            writer(staged)
        finally:
            _STAGED.discard(staged)
        info = _lstat(staged)
        if info is None or not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EIO, f"{target}: the writer left no regular file")
        _fsync(staged)
    except BaseException:
        _remove_stage(stage)
        raise
    return stage, staged


def is_staged(path: str | os.PathLike) -> bool:
    """True while ``path`` is the private file a :func:`write_output` call hands its writer."""
    return Path(path) in _STAGED


def atomic_write(path: str | os.PathLike, writer: Writer) -> Path:
    """Call ``writer(tmp)`` on a private temp file, sync it, rename it over ``path`` (no versions, no
    log: for files that are state, not outputs, such as the TUI session). On a file already being
    staged by :func:`write_output` the writer runs in place: that file is private and renamed later."""
    target = Path(path)
    if is_staged(target):
        writer(target)
        return target
    stage, staged = _stage(target, writer)
    try:
        os.replace(staged, target)
    finally:
        _remove_stage(stage)
    _fsync(_directory(target), directory=True)
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# --- versions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Version:
    number: int
    path: Path
    current: bool


def list_versions(path: str | os.PathLike) -> list[Version]:
    """Every stored version of ``path``, oldest first, marking the current one. Only regular files
    count: a link planted at ``NAME.vK.EXT`` is not a version and cannot be made current."""
    target = Path(path)
    pattern, directory = _version_pattern(target), _directory(target)
    try:
        current = os.readlink(target)
    except OSError:
        current = None
    found = []
    for entry in directory.iterdir() if directory.is_dir() else []:
        m = pattern.match(entry.name)
        info = _lstat(entry) if m else None
        if m and info is not None and stat.S_ISREG(info.st_mode):
            found.append(Version(int(m.group(1)), entry, entry.name == current))
    return sorted(found, key=lambda v: v.number)


def _copy_exclusive(source: Path, destination: Path) -> None:
    """Copy into a new file (``O_EXCL``), reading and writing with ``O_NOFOLLOW``."""
    src = os.open(source, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    try:
        dst = _create_exclusive(destination)
        try:
            while chunk := os.read(src, 1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view):]
            os.fsync(dst)
        except BaseException:
            os.unlink(destination)
            raise
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _claim_next_version(target: Path, source: Path) -> Path:
    """Hard-link ``source`` to the first free ``NAME.vK.EXT``: ``os.link`` fails if the name exists
    (anything there counts, a planted link too); an exclusive copy where hard links are refused."""
    pattern, directory = _version_pattern(target), _directory(target)
    taken = (pattern.match(entry.name) for entry in directory.iterdir())
    k = max((int(m.group(1)) for m in taken if m), default=-1) + 1
    while True:
        candidate = version_path(target, k)
        try:
            os.link(source, candidate, follow_symlinks=False)
            return candidate
        except FileExistsError:
            k += 1
        except OSError:
            try:
                _copy_exclusive(source, candidate)
                return candidate
            except FileExistsError:
                k += 1


def _is_calterm_copy(target: Path) -> bool:
    """A regular ``NAME.EXT`` that is calterm's copy of the last logged version (no-link filesystems)."""
    import filecmp

    info = _lstat(target)
    if info is None or not stat.S_ISREG(info.st_mode):
        return False
    records = read_log(target)
    last = _directory(target) / str(records[-1].get("version", "")) if records else None
    last_info = _lstat(last) if last is not None and last.name else None
    return (last_info is not None and stat.S_ISREG(last_info.st_mode) and last_info.st_size == info.st_size
            and filecmp.cmp(target, last, shallow=False))


def _keep_foreign_file(target: Path) -> None:
    """A plain file another tool left at ``NAME.EXT`` becomes the next version before it is replaced."""
    info = _lstat(target)
    if info is not None and stat.S_ISREG(info.st_mode) and not _is_calterm_copy(target):
        _claim_next_version(target, target)


def _point_current(target: Path, version: Path, stage: Path) -> None:
    """Make ``target`` a relative link to ``version`` with one rename from the private ``stage``
    (a copy, made the same way, where the filesystem refuses links)."""
    link = stage / "current"
    try:
        os.symlink(version.name, link)
    except OSError:
        link = stage / "current.copy"
        _copy_exclusive(version, link)
    os.replace(link, target)


def write_output(path: str | os.PathLike, writer: Writer, *, command: str = "", inputs: dict | None = None) -> Path:
    """Write a new version of ``path`` atomically, make it current, log it; return the version's path.

    ``writer(tmp)`` gets a private file with the output's own name (so its suffix picks the format).
    If it raises, nothing changes: no version, no link change, no log line."""
    target = Path(path)
    check_target(target)
    stage, staged = _stage(target, writer)
    try:
        _keep_foreign_file(target)
        version = _claim_next_version(target, staged)
        _point_current(target, version, stage)
    finally:
        _remove_stage(stage)
    _fsync(_directory(target), directory=True)
    append_log(target, {"version": version.name, "command": command, "inputs": inputs or {}})
    return version


def write_text_output(path: str | os.PathLike, text: str, *, command: str = "", inputs: dict | None = None) -> Path:
    return write_output(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), command=command, inputs=inputs)


def set_current(path: str | os.PathLike, number: int, command: str = "restore") -> Path:
    """Go back (or forward) to version ``number``: one atomic link change, logged."""
    target = Path(path)
    version = version_path(target, number)
    info = _lstat(version)
    if info is None or not stat.S_ISREG(info.st_mode):
        raise InputError(f"{target}: no version {number}")
    check_target(target)
    stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=_directory(target)))
    try:
        _keep_foreign_file(target)
        _point_current(target, version, stage)
    finally:
        _remove_stage(stage)
    append_log(target, {"version": version.name, "command": command, "inputs": {}})
    return version
