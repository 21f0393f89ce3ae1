"""What the app loads before its first screen: not the engine (pyFAI, scipy, fabio), not numpy, not
the image libraries (textual-image, PIL) nor plotext. Each costs 0.05-1.5 s of start-up and the first
screen (the parameters form, or the screen a session was left on) needs none of them; they are
imported by the workers and screens that use them, after the first paint. Checked without timing,
by `calterm` and `calterm --resume` themselves (headless) in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

LATE = ("numpy", "scipy", "pyFAI", "fabio", "h5py", "PIL", "textual_image", "plotext", "textual_plotext")

RUN = r"""
import json, sys
import calterm.tui.app as app_module
from calterm.cli import main

App = app_module.CaltermApp
seen = {}
mount = App.on_mount


def on_mount(self):
    def painted():  # the first frame is out: what is loaded by now was paid before it
        seen["modules"] = sorted(m for m in sys.modules if m.split(".")[0] in LATE)
        seen["screen"] = type(self.screen).__name__
        self.exit()

    # queued before the app's own after-first-frame work (the demo job, whose thread starts importing
    # numpy at once), so it sees what was loaded when the first frame went out, not a race with that thread
    self.call_after_refresh(painted)
    mount(self)


App.on_mount = on_mount
App.run = lambda self, run=App.run: run(self, headless=True, size=(80, 24))
code = main(sys.argv[2:])
seen["code"] = code
open(sys.argv[1], "w").write(json.dumps(seen))
"""


def _first_screen(tmp_path, *argv: str) -> dict:
    out = tmp_path / "seen.json"
    env = {**os.environ, "CALTERM_HOME": str(tmp_path / "state"), "CALTERM_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    code = f"LATE = {LATE!r}\n" + RUN
    proc = subprocess.run([sys.executable, "-c", code, str(out), *argv], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("argv", [(), ("--resume",)], ids=["demo", "resume"])
def test_first_screen_loads_neither_numpy_nor_the_engine_nor_image_libraries(tmp_path, argv):
    if argv:
        assert _first_screen(tmp_path)["code"] == 0  # a demo session saved to resume
    seen = _first_screen(tmp_path, *argv)
    assert seen["code"] == 0 and seen["screen"] == "ParametersScreen"
    assert seen["modules"] == []


def test_session_values_while_a_worker_is_still_importing_numpy(monkeypatch):
    """The demo's worker imports numpy while the app saves the session: a half-imported numpy (no
    ``generic`` yet) crashed ``json_value`` (seen on --resume at start-up)."""
    import types

    from calterm.tui.session import json_value

    monkeypatch.setitem(sys.modules, "numpy", types.ModuleType("numpy"))
    assert json_value({"frame": 0, "image": ["a.tif", 1.5, float("nan")]}) == {"frame": 0, "image": ["a.tif", 1.5, "nan"]}
