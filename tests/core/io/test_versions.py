"""Versioned writes keep every version and the log; a write killed midway leaves the current file intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from calterm.core.io.versions import list_versions, read_log, set_current, write_versioned
from calterm.errors import InputError


def write_text(path, text, **kw):
    return write_versioned(path, lambda tmp: tmp.write_text(text), **kw)


def test_repeated_writes_keep_every_version_and_the_log(tmp_path):
    target = tmp_path / "mask.edf"
    for k in range(3):
        version = write_text(target, f"content {k}", command="calterm mask", inputs={"k": k})
        assert version.name == f"mask.v{k}.edf"
    versions = list_versions(target)
    assert [v.number for v in versions] == [0, 1, 2] and [v.current for v in versions] == [False, False, True]
    assert [v.path.read_text() for v in versions] == ["content 0", "content 1", "content 2"]
    assert target.read_text() == "content 2" and target.is_symlink()
    log = read_log(target)
    assert [r["version"] for r in log] == ["mask.v0.edf", "mask.v1.edf", "mask.v2.edf"]
    assert all(r["command"] == "calterm mask" and "time" in r for r in log) and log[1]["inputs"] == {"k": 1}


def test_a_foreign_file_is_kept_as_a_version(tmp_path):
    target = tmp_path / "calib.poni"
    target.write_text("written by pyFAI-calib2")
    write_text(target, "written by calterm")
    assert [v.path.read_text() for v in list_versions(target)] == ["written by pyFAI-calib2", "written by calterm"]


def test_going_back_is_one_logged_link_change(tmp_path):
    target = tmp_path / "offsets.json"
    for k in range(3):
        write_text(target, str(k))
    set_current(target, 0, command="calterm history --restore 0")
    assert target.read_text() == "0" and [v.current for v in list_versions(target)] == [True, False, False]
    assert read_log(target)[-1]["command"] == "calterm history --restore 0"
    assert len(list_versions(target)) == 3  # nothing deleted
    with pytest.raises(InputError, match="no version 7"):
        set_current(target, 7)


def test_a_writer_failing_midway_changes_nothing(tmp_path):
    target = tmp_path / "mask.npy"
    write_text(target, "good")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_versioned(target, broken)
    assert target.read_text() == "good" and len(list_versions(target)) == 1 and len(read_log(target)) == 1


def test_a_write_killed_midway_leaves_the_current_file_intact(tmp_path):
    target = tmp_path / "average.edf"
    write_text(target, "version zero")
    ready = tmp_path / "ready"
    code = (
        "import sys, time, pathlib\n"
        "from calterm.core.io.versions import write_versioned\n"
        "def slow(tmp):\n"
        "    with open(tmp, 'w') as fh:\n"
        "        fh.write('partial'); fh.flush()\n"
        f"        pathlib.Path({str(ready)!r}).touch()\n"
        "        time.sleep(60)\n"
        f"write_versioned({str(target)!r}, slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "writer did not start"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert target.read_text() == "version zero"
    assert [v.number for v in list_versions(target)] == [0] and len(read_log(target)) == 1
    assert write_text(target, "next").name == "average.v1.edf"  # the next write still works


def test_the_names_callers_import_from_versions_are_the_one_writer():
    """``calterm history``, the TUI session and older call sites import from here: no second path."""
    from calterm.core.io import versionlog, versions, writer

    for name in ("atomic_write", "atomic_write_text", "check_writable", "list_versions", "set_current",
                 "version_path", "Version"):
        assert getattr(versions, name) is getattr(writer, name), name
    assert versions.read_log is versionlog.read_log


def test_older_spelling_obeys_the_writers_rules(tmp_path):
    (tmp_path / "elsewhere.txt").write_text("keep")
    (tmp_path / "calib.poni").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(InputError, match="is a link to"):
        write_text(tmp_path / "calib.poni", "poni")
    with pytest.raises(InputError, match="does not exist"):
        write_text(tmp_path / "no" / "calib.poni", "poni")
    assert (tmp_path / "elsewhere.txt").read_text() == "keep" and len(list(tmp_path.iterdir())) == 2
