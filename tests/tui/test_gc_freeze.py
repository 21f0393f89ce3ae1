"""The app keeps what imports made out of the garbage collector's full passes (gc_freeze)."""

from __future__ import annotations

import gc
import importlib
import sys

from calterm.tui.gc_freeze import freeze_if_imported


def test_a_new_import_freezes_what_is_tracked_and_nothing_new_does_nothing(tmp_path, monkeypatch):
    freeze_if_imported()
    assert freeze_if_imported() is False  # no module since: nothing to do
    frozen = gc.get_freeze_count()
    (tmp_path / "calterm_gc_probe.py").write_text("TABLE = [[i] for i in range(2000)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("calterm_gc_probe")
    try:
        assert freeze_if_imported() is True
        assert gc.get_freeze_count() >= frozen + 2000  # the module's 2000 lists among them
        assert not any(o is module.TABLE for o in gc.get_objects(generation=2))  # out of the full passes
    finally:
        sys.modules.pop("calterm_gc_probe", None)
