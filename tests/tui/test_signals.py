"""Issue 15 item 9: SIGHUP and SIGTERM flush the session before exit. Typing in a tool field saves
0.3 s after the last key (debounced); a hangup right after the last key used to lose it. Real
processes in a real terminal (tmux): the hangup is the pane itself closing (kill-pane: the
terminal goes away and the process gets SIGHUP), the SIGTERM a plain ``kill``."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from .tmux_driver import Tmux

pytestmark = pytest.mark.skipif(not Tmux.available(), reason="tmux is not installed (.ci/run installs it)")

TYPED = "run7/dark_00042.cbf"


def _gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _type_then(term, tmp_path, stop) -> dict:
    """Open an image, type a path into the dark screen's first field, and at once ``stop(pid, w)``."""
    image = tmp_path / "small.npy"
    np.save(image, np.ones((64, 64)))
    session = tmp_path / "s.json"
    w = term.start(str(image), "--detector", "Pilatus100k", "--session", str(session))
    term.wait_for(w, "Distance mm", timeout=60)
    term.send(w, "7")
    term.wait_for(w, "Frames", timeout=30)
    term.send(w, "Tab")
    term.send(w, TYPED, pause=0.0)  # one burst: its last key is saved 0.3 s later (debounced)
    term.wait_for(w, TYPED, poll=0.01)
    pid = term.calterm_pid(w)
    stop(pid, w)
    assert _gone(pid), "calterm did not exit"
    return json.loads(session.read_text())


def test_sighup_right_after_typing_keeps_the_last_keystrokes(term, tmp_path):
    doc = _type_then(term, tmp_path, lambda pid, w: term._tmux("kill-pane", "-t", w))  # the terminal hangs up
    assert doc["tools"]["dark"]["inputs"]["files"] == TYPED


def test_sigterm_right_after_typing_keeps_the_last_keystrokes(term, tmp_path):
    def stop(pid, w):
        os.kill(pid, signal.SIGTERM)
        assert term.wait_exit(w) == 128 + signal.SIGTERM

    doc = _type_then(term, tmp_path, stop)
    assert doc["tools"]["dark"]["inputs"]["files"] == TYPED
