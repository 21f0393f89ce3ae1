"""The one output writer: whole log lines under concurrency and after a crash, private staging, no
write through a link (planted at a temp name, at the output, at its log, as a version), preflight
refusals in one line, and images formatted by their suffix on the staged file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from calterm.core.io.images import read_array, write_image
from calterm.core.io.versions import list_versions, read_log, read_log_checked, set_current, write_versioned
from calterm.core.io.writer import OUTPUT_SUFFIXES, preflight, write_output, write_text_output
from calterm.errors import InputError

SECRET = "root:x:0:0:do not touch\n"


def text_writer(text):
    return lambda tmp: tmp.write_text(text)


@pytest.fixture
def outside(tmp_path):
    """A file outside calterm's versions, in another folder (stands for /etc/passwd)."""
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "elsewhere" / "passwd"
    path.write_text(SECRET)
    return path


@pytest.fixture
def out(tmp_path):
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def names(directory):
    return sorted(p.name for p in directory.iterdir())


# --- the log ----------------------------------------------------------------------------------------
def test_a_line_cut_by_a_crash_neither_breaks_reading_nor_swallows_the_next_record(out, capsys):
    target = out / "calib.poni"
    write_versioned(target, text_writer("a"), "calterm calibrate")
    with open(out / "calib.poni.log", "ab") as fh:
        fh.write(b'{"time": "2024-01-01T00:00:00", "vers')  # killed mid-line: no newline
    assert [r["version"] for r in read_log(target)] == ["calib.v0.poni"]
    write_versioned(target, text_writer("b"), "calterm calibrate")
    with open(out / "calib.poni.log", "ab") as fh:
        fh.write(b"\xff\xfe not utf-8\n")
    records, damaged = read_log_checked(target)
    assert [r["version"] for r in records] == ["calib.v0.poni", "calib.v1.poni"] and damaged == 2

    from calterm.cli import main

    assert main(["history", str(target)]) == 0
    shown = capsys.readouterr().out
    assert "v0" in shown and "* v1" in shown and "calib.v1.poni" in shown


def _append_many(target: str, writer_id: int, count: int, size: int) -> None:
    for k in range(count):
        write_versioned(target, text_writer(f"{writer_id}.{k}"), "concurrent",
                        {"writer": writer_id, "k": k, "pad": "x" * size})


def test_concurrent_writers_leave_whole_log_lines_and_distinct_versions(out):
    """Threads and processes write at once; lines longer than a buffer (40 kB) stay whole."""
    target = out / "h.csv"
    code = ("import sys; from tests.core.io.test_writer import _append_many; "
            "_append_many(sys.argv[1], int(sys.argv[2]), 12, 40000)")
    root = Path(__file__).resolve().parents[3]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target), str(w)], cwd=root) for w in range(4)]
    threads = [threading.Thread(target=_append_many, args=(str(target), 10 + w, 12, 40000)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    lines = (out / "h.csv.log").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == 7 * 12
    records = [json.loads(line) for line in lines[:-1]]  # every line is one whole record
    assert sorted((r["inputs"]["writer"], r["inputs"]["k"]) for r in records) == sorted(
        (w, k) for w in [0, 1, 2, 3, 10, 11, 12] for k in range(12))
    versions = list_versions(target)
    assert [v.number for v in versions] == list(range(7 * 12))
    assert sorted(r["version"] for r in records) == sorted(v.path.name for v in versions)
    contents = {v.path.read_text() for v in versions}
    assert len(contents) == 7 * 12 and target.read_text() in contents
    assert not [n for n in names(out) if n.startswith(".")]  # no staging left behind


# --- staging ----------------------------------------------------------------------------------------
def test_the_writer_gets_a_fresh_private_file_named_like_the_output(out):
    seen = []

    def writer(tmp):
        info = os.lstat(tmp.parent)
        seen.append((tmp, stat.S_IMODE(info.st_mode), info.st_uid))
        tmp.write_text("x")

    for _ in range(2):
        write_output(out / "cake.TIF", writer)
    (first, mode, uid), (second, _, _) = seen
    assert first.name == "cake.TIF" and first.parent.parent == out  # the real name: the suffix picks the format
    assert mode == 0o700 and uid == os.getuid()  # nobody else can plant anything in it
    assert first.parent != second.parent and str(os.getpid()) not in first.parent.name
    assert names(out) == ["cake.TIF", "cake.TIF.log", "cake.v0.TIF", "cake.v1.TIF"]


def test_outputs_get_the_users_usual_mode(out):
    old = os.umask(0o027)
    try:
        version = write_text_output(out / "p.xy", "1 2\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(version).st_mode) == 0o640


def test_links_planted_at_predictable_temp_names_are_never_written_through(out, outside):
    pid = os.getpid()
    for name in (f".mask.edf.{pid}.link", f".mask.edf.{pid}.new.edf", ".mask.edf.log.tmp"):
        (out / name).symlink_to(outside)
    write_text_output(out / "mask.edf", "mask")
    assert outside.read_text() == SECRET and (out / "mask.edf").read_text() == "mask"


def test_where_links_are_refused_the_copy_never_follows_a_link_planted_at_its_name(out, outside, monkeypatch):
    """The fallback for filesystems without symbolic links (SMB, FAT) copies the version to a temp
    name; an attacker who wins the race plants a link there first (old: shutil.copyfile followed it)."""
    real_symlink = os.symlink

    def refused(src, dst, *args, **kwargs):
        if Path(dst).name != "passwd":
            real_symlink(outside, dst)  # the attacker's link, at the very name calterm is about to use
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", refused)
    target = out / "calib.poni"
    write_text_output(target, "first")
    write_text_output(target, "second")
    assert outside.read_text() == SECRET
    assert not target.is_symlink() and target.read_text() == "second"
    assert [v.path.read_text() for v in list_versions(target)] == ["first", "second"]  # the copy is not a foreign file


def test_a_link_at_the_output_that_calterm_did_not_make_is_refused(out, outside):
    target = out / "calib.poni"
    target.symlink_to(outside)
    for attempt in (lambda: write_text_output(target, "poni"), lambda: preflight(target, "poni")):
        with pytest.raises(InputError, match=r"is a link to .*passwd, not to one of its versions") as info:
            attempt()
        assert "\n" not in str(info.value)
    assert outside.read_text() == SECRET and os.readlink(target) == str(outside) and names(out) == ["calib.poni"]


def test_a_link_at_the_log_is_refused_before_anything_is_written(out, outside):
    target = out / "calib.poni"
    (out / "calib.poni.log").symlink_to(outside)
    with pytest.raises(InputError, match="the log must be a regular file"):
        write_text_output(target, "poni")
    assert outside.read_text() == SECRET and names(out) == ["calib.poni.log"]


def test_a_link_planted_as_a_version_is_no_version(out, outside):
    target = out / "mask.npy"
    (out / "mask.v0.npy").symlink_to(outside)
    assert list_versions(target) == []
    assert write_text_output(target, "mask").name == "mask.v1.npy"
    assert [v.number for v in list_versions(target)] == [1]
    with pytest.raises(InputError, match="no version 0"):
        set_current(target, 0)
    assert os.readlink(target) == "mask.v1.npy" and outside.read_text() == SECRET


def test_restoring_keeps_a_foreign_file_at_the_name_as_a_version(out):
    target = out / "calib.poni"
    write_text_output(target, "calterm")
    target.unlink()
    target.write_text("written by pyFAI-calib2")
    set_current(target, 0)
    assert target.read_text() == "calterm"
    assert [v.path.read_text() for v in list_versions(target)] == ["calterm", "written by pyFAI-calib2"]


# --- preflight --------------------------------------------------------------------------------------
def _refusals(tmp_path, outside):
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "file").write_text("")
    (tmp_path / "to_dir.csv").symlink_to(tmp_path / "folder.csv")
    (tmp_path / "foreign.csv").symlink_to(outside)
    (tmp_path / "logged.csv.log").symlink_to(outside)
    (tmp_path / "logdir.csv.log").mkdir()
    os.mkfifo(tmp_path / "fifo.csv")
    return {
        "unknown suffix": (tmp_path / "h.png", "csv", "a csv output must end in .csv"),
        "no suffix": (tmp_path / "h", "csv", "a csv output must end in .csv"),
        "missing folder": (tmp_path / "no" / "h.csv", "csv", "does not exist"),
        "a file as folder": (tmp_path / "file" / "h.csv", "csv", "is not a directory"),
        "onto a folder": (tmp_path / "folder.csv", "csv", "is a directory"),
        "link to a folder": (tmp_path / "to_dir.csv", "csv", "is a link to"),
        "foreign link": (tmp_path / "foreign.csv", "csv", "is a link to"),
        "link at the log": (tmp_path / "logged.csv", "csv", "the log must be a regular file"),
        "folder at the log": (tmp_path / "logdir.csv", "csv", "the log must be a regular file"),
        "a fifo": (tmp_path / "fifo.csv", "csv", "not a regular file"),
        "into /proc": (Path("/proc/h.csv"), "csv", "cannot write in /proc"),
    }


REFUSALS = ["unknown suffix", "no suffix", "missing folder", "a file as folder", "onto a folder", "link to a folder",
            "foreign link", "link at the log", "folder at the log", "a fifo", "into /proc"]


@pytest.mark.parametrize("case", REFUSALS)
def test_preflight_refuses_in_one_line_and_writes_nothing(case, tmp_path, outside):
    cases = _refusals(tmp_path, outside)
    assert sorted(cases) == sorted(REFUSALS)
    path, kind, message = cases[case]
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InputError, match=message) as info:
        preflight(path, kind)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    assert sorted(tmp_path.rglob("*")) == before and outside.read_text() == SECRET


def test_preflight_refuses_a_folder_it_may_not_write(tmp_path, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if Path(p) == tmp_path else real(p, mode, *a, **k))
    with pytest.raises(InputError, match="is not writable"):
        preflight(tmp_path / "h.csv", "csv")


def test_preflight_accepts_any_case_a_link_to_a_version_and_returns_the_path(out):
    assert preflight(out / "calib.PONI", "poni") == out / "calib.PONI"
    write_text_output(out / "m.edf", "m")
    assert preflight(str(out / "m.edf"), "mask") == out / "m.edf"
    assert names(out) == ["m.edf", "m.edf.log", "m.v0.edf"]  # the probe leaves nothing
    assert all(s.startswith(".") and s == s.lower() for suffixes in OUTPUT_SUFFIXES.values() for s in suffixes)


# --- images through the writer ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gain.tif", "gain.TIFF", "avg.edf", "mask.mask", "cake.npy"])
def test_every_image_format_goes_through_the_writer_staged_once(name, out, monkeypatch):
    data = np.arange(30, dtype=np.float32).reshape(5, 6)
    stages = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: stages.append(real_mkdtemp(*a, **k)) or stages[-1])
    version = write_output(out / name, lambda tmp: write_image(tmp, data), command="test")
    assert len(stages) == 1  # write_image writes in place on the staged file: no second temp file
    stored, _ = read_array(version)
    np.testing.assert_array_equal(stored, data)
    np.testing.assert_array_equal(read_array(out / name)[0], data)
    assert read_log(out / name)[0]["command"] == "test"
