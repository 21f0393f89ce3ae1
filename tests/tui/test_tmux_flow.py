"""A beamline user's whole run in a real terminal (tmux, 80x24, 16 colours, no mouse; issue 15
item 10): open a rendered LaB6 image, type λ, the calibrant and the pixel size, add one point near
ring 1 with the keyboard cursor, `c`, read the distance off Results, step through every plot with
`]`, save the PONI (`s`) and the history (`e`) next to the image, quit.

On the way, the typing hazard that needs a real terminal to show: a number typed with no field
focused switches screens as the tab bar says (and the terminal shows the last one named) but never
adds a point. (The burst of three file names with tabs and the bracketed paste are in
``test_keys_tmux.py``.)
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import time

import numpy as np
import pytest

from .tmux_driver import Tmux

pytestmark = pytest.mark.skipif(not Tmux.available(), reason="tmux is not installed (.ci/run installs it)")

CURSOR = re.compile(r"cursor (-?[0-9.]+), (-?[0-9.]+)")
POINT_ROW = re.compile(r"│ 1\s+([0-9.]+)\s+([0-9.]+)\s+1\s*$", re.M)  # row 1 of the points table
DISTANCE = re.compile(r"distance ([0-9.]+)(?: ± [0-9.]+)? mm")


def ring_tth(case, ring: int) -> float:
    """2θ (rad) of a calibrant ring at the case's true wavelength (pyFAI's own calibrant)."""
    import pyFAI.calibrant

    cal = pyFAI.calibrant.get_calibrant(case.calibrant)
    cal.wavelength = case.geometry.wavelength
    return float(cal.get_2th()[ring - 1])


def pixel_tth(rc, x: float, y: float) -> float:
    """2θ (rad) at pixel (x = column, y = row; integers at pixel centres) of the true geometry."""
    ai = rc.truth.to_pyfai(rc.detector)
    return float(ai.tth(np.array([y]), np.array([x]))[0])


def plot_title(view: str) -> re.Pattern:
    """What the title row of each plot of the Plots tab starts with."""
    if view == "residuals":
        return re.compile(r"^\s*Δ2θ \(\w+\) by azimuth", re.M)
    if view == "pattern":
        return re.compile(r"^\s*pattern, log10 I", re.M)
    if view == "cake":
        return re.compile(r"╭─ cake: χ \(°\) ↓ 2θ", re.M)
    return re.compile(rf"^\s*{re.escape(view)}\b[^\n]* by iteration", re.M)  # cost, then each free parameter


def wait_match(term, w, pattern: re.Pattern, timeout: float = 30.0) -> re.Match:

    end = time.monotonic() + timeout
    while True:
        screen = term.capture(w)
        m = pattern.search(screen)
        if m:
            return m
        if time.monotonic() > end:
            raise TimeoutError(f"{pattern.pattern!r} not on screen after {timeout} s:\n{screen}")
        time.sleep(0.05)


def cursor_after(term, w, key: str, shown: str, timeout: float = 10.0) -> float:
    """Press ``key`` and return the cursor's x once the side panel shows it moved from ``shown``."""

    term.send(w, key)
    end = time.monotonic() + timeout
    while True:
        m = CURSOR.search(term.capture(w))
        if m and m.group(1) != shown:
            return float(m.group(1))
        if time.monotonic() > end:
            raise TimeoutError(f"the cursor did not move from x = {shown}:\n{term.capture(w)}")
        time.sleep(0.05)


def test_a_user_calibrates_a_rendered_image_from_typed_values_to_saved_files(term, rendered, tmp_path):
    import pyFAI

    rc = rendered("pilatus")  # Pilatus1M binned 2x2 (490 x 521 px, 344 µm), LaB6, λ 0.4 Å, 200 mm
    beamtime = tmp_path / "beamtime"  # not the working directory: the outputs must go next to the image
    beamtime.mkdir()
    image = beamtime / "lab6.tif"
    shutil.copy(rc.path, image)
    truth_mm = rc.truth.dist * 1e3

    w = term.start(str(image))
    term.wait_for(w, "Wavelength", timeout=60)
    # screen 1: Tab to the calibrant, then the wavelength, then (past the energy) the pixel size
    term.send(w, *["Tab"] * 4)  # image, frame, detector, calibrant
    term.send(w, "C-u", *"LaB6", "Tab", "C-u", *f"{rc.truth.wavelength * 1e10:g}", "Tab", "Tab", "C-u", *"344")
    screen = term.wait_for(w, "pixel 344 × 344 µm")
    assert "λ 0.4000 Å" in screen and "LaB6" in screen.splitlines()[0], screen

    # hazard: with no field focused, the point keys add nothing and a number is screen keys (4 1 0 6 9 0:
    # the last is Gain) (main: typing 410,690 jumped screens, then enter added a point at the cursor)
    term.send(w, "Escape", "2")  # esc leaves the field, then a bare digit: the points screen
    term.wait_for(w, "auto-increment")
    term.send(w, "Tab")  # from the image view to the "add x,y" field
    term.wait_for(w, "f1 Keys")  # a text field's footer
    term.send(w, "Escape")  # out of the field: nothing has focus
    term.send(w, "Enter", "=")
    term._tmux("send-keys", "-t", w, "410,690", "Enter")  # one burst, as a fast typist
    term.wait_for(w, "Setup  Profiles  Map", timeout=15)  # Gain on screen (before the fix: a stale earlier one)
    term.send(w, "Escape", "2")
    term.wait_for(w, "auto-increment")
    time.sleep(0.5)  # a point search started by a stray enter would be done by now
    screen = term.capture(w)
    assert not POINT_ROW.search(screen) and "Single-peak search" not in screen, screen
    assert "Calibrate" not in screen.splitlines()[-2], screen  # and nothing ran

    # screen 2: the image view has focus; → moves the cursor one preview dot, to ring 1 right of the beam
    beam_x, beam_y = rc.beam_xy
    tth1 = ring_tth(rc.case, 1)
    xs = np.arange(beam_x, rc.image.shape[1] - 1, 0.25)
    target = xs[np.argmin([abs(pixel_tth(rc, x, beam_y) - tth1) for x in xs])]  # ring 1 on the beam's row
    shown = CURSOR.search(screen).group(1)
    x_before = None
    for _ in range(20):
        x = cursor_after(term, w, "Right", shown)
        shown = f"{x:.1f}"
        if x_before is not None and x >= target - (x - x_before) / 2:
            break  # the nearest dot to ring 1
        x_before = x
    assert abs(x - target) <= 10, (x, target)  # within the single-peak search size (10 px)
    term.send(w, "Enter")
    m = wait_match(term, w, POINT_ROW)
    px, py = float(m.group(1)), float(m.group(2))
    pixel_rad = 344e-6 / rc.truth.dist
    assert abs(pixel_tth(rc, px, py) - tth1) < pixel_rad, (px, py)  # the peak found is on ring 1, within 1 px

    # c: the calibration from that one point; Results shows the distance
    term.send(w, "c")
    screen = term.wait_for(w, "RMS", timeout=120)
    m = DISTANCE.search(screen)
    assert m, screen
    shown_mm = float(m.group(1))
    assert abs(shown_mm - truth_mm) < 0.5, screen

    # ]: the Plots tab (residuals first), then every plot in turn, each titled, and round again
    term.send(w, "]")
    views = wait_match(term, w, re.compile(r"^ \[ \] (residuals pattern cake │ history: cost[^\n]*)$", re.M))
    views = views.group(1).replace("│ history:", "").split()
    assert views[:4] == ["residuals", "pattern", "cake", "cost"] and "dist" in views, views
    wait_match(term, w, plot_title("residuals"))
    for view in [*views[1:], views[0]]:
        term.send(w, "]")
        wait_match(term, w, plot_title(view))

    # s: the PONI next to the image, as a numbered version, that pyFAI reads at the distance shown
    term.send(w, "s")
    term.wait_for(w, "Save PONI file")
    term.send(w, "Enter")
    term.wait_for(w, "PONI saved")
    poni = beamtime / "lab6.poni"
    assert poni.is_symlink() and os.readlink(poni) == "lab6.v0.poni"
    assert (beamtime / "lab6.poni.log").is_file()
    dist_mm = pyFAI.load(str(poni)).dist * 1e3
    assert abs(dist_mm - truth_mm) < 0.5
    assert abs(dist_mm - shown_mm) <= 0.0005 + 1e-9  # the file holds the calibration shown

    # e: the optimization history next to the image, every row the screen counted
    term.send(w, "e")
    term.wait_for(w, "Export optimization history")
    term.send(w, "Enter")
    rows = int(wait_match(term, w, re.compile(r"optimization history \((\d+) rows\)")).group(1))
    history = beamtime / "lab6-history.csv"
    assert history.is_symlink() and os.readlink(history) == "lab6-history.v0.csv"
    with history.open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == rows > 1
    assert abs(float(table[-1]["dist"]) * 1e3 - dist_mm) < 1e-6
    assert not list(tmp_path.glob("*.poni")) and not list(tmp_path.glob("*.csv"))  # nothing in the working dir

    term.send(w, "C-q")
    assert term.wait_exit(w) == 0
