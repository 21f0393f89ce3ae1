"""End to end in a real terminal (tmux, 80x24, 16 colours, no mouse): open the demo, calibrate with
`c`, read the refined distance off the results screen, quit with ctrl+q (exit 0); and a session
killed with SIGKILL mid-edit comes back with `calterm --resume`."""

from __future__ import annotations

import os
import re
import signal

import pytest

from calterm.core.simulate.powder import demo_case

from .tmux_driver import Tmux

pytestmark = pytest.mark.skipif(not Tmux.available(), reason="tmux is not installed (.ci/run installs it)")


def test_demo_calibrate_in_a_real_terminal(term):
    import calterm.core.calibrate.pipeline  # noqa: F401  an engine that cannot import fails here
    w = term.start()
    term.wait_for(w, "Distance mm", timeout=60)
    term.wait_for(w, "Prepare demo done", timeout=120)
    term.send(w, "c")
    screen = term.wait_for(w, "RMS", timeout=240)
    m = re.search(r"distance ([0-9.]+)(?: ± [0-9.]+)? mm", screen)
    assert m, screen
    assert abs(float(m.group(1)) - demo_case().geometry.dist * 1e3) < 0.1
    assert all(len(line) <= 80 for line in screen.splitlines())
    term.send(w, "C-q")
    assert term.wait_exit(w) == 0


def test_killed_terminal_loses_nothing(term):
    w = term.start()
    term.wait_for(w, "Prepare demo done", timeout=120)
    term.send(w, *["Tab"] * 8)  # image, frame, detector, calibrant, wavelength, energy, pixel, distance
    term.send(w, "C-u", *"183.25")
    term.wait_for(w, "183.25")
    term.send(w, "Escape", "2")
    term.wait_for(w, "auto-increment")
    term.send(w, "+", "+")
    term.wait_for(w, "ring 3")
    os.kill(term.calterm_pid(w), signal.SIGKILL)
    assert term.wait_exit(w) == 128 + signal.SIGKILL
    w2 = term.start("--resume")
    screen = term.wait_for(w2, "ring 3", timeout=60)  # back on the points screen, ring 3
    term.send(w2, "1")
    term.wait_for(w2, "183.25")
    term.send(w2, "C-q")
    assert term.wait_exit(w2) == 0
    assert "calterm" in screen


def test_opening_another_image_leaves_no_old_calibration_on_screen(term, rendered):
    """Calibrate the demo, ctrl+o another image: screen 5 says so instead of the old numbers."""
    other = rendered("pilatus").path
    w = term.start()
    term.wait_for(w, "Prepare demo done", timeout=120)
    term.send(w, "c")
    screen = term.wait_for(w, "RMS", timeout=240)
    assert "no calibration for this image" not in screen
    term.send(w, "C-o")
    term.wait_for(w, "Open image")
    term.send(w, "C-u", pause=0.3)
    term.send(w, str(other), "Enter", pause=0.3)
    screen = term.wait_for(w, "no calibration for this image", timeout=60)
    assert "RMS" not in screen and "verdict" not in screen and "dist mm" not in screen
    assert all(len(line) <= 80 for line in screen.splitlines())
    term.send(w, "C-q")
    assert term.wait_exit(w) == 0
