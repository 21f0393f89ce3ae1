"""The typing hazards in a real terminal (tmux, 80x24): a burst of keys with tabs in it fills one
field per tab, and a bracketed paste lands in the focused field only (issue 15 item 3)."""

from __future__ import annotations

import time

import pytest

from .tmux_driver import Tmux

pytestmark = pytest.mark.skipif(not Tmux.available(), reason="tmux is not installed (.ci/run installs it)")


def field_line(screen: str, label: str) -> str:
    return next(line for line in screen.splitlines() if line.strip().startswith(label))


def test_a_burst_with_tabs_fills_three_fields_and_a_paste_stays_in_its_field(term):
    w = term.start()
    term.wait_for(w, "Prepare demo done", timeout=120)
    term.send(w, "7")
    term.wait_for(w, "Average →")
    term.send(w, *["Tab"] * 7)  # frames, list files, workers, sample std, clip, gate, average
    # one send-keys call: the whole burst reaches calterm in one read, as from a fast typist
    term._tmux("send-keys", "-t", w, "t_avg.edf", "Tab", "t_std.edf", "Tab", "t_max.edf")
    screen = term.wait_for(w, "t_max.edf")
    time.sleep(0.3)
    screen = term.capture(w)
    assert field_line(screen, "Average →").split()[-1] == "t_avg.edf", screen  # main: t_avg.edft_std.edft_max.edf
    assert field_line(screen, "Std →").split()[-1] == "t_std.edf", screen
    assert field_line(screen, "Max →").split()[-1] == "t_max.edf", screen

    term.send(w, "Escape")  # leave the field: nothing has focus
    term._tmux("set-buffer", "-b", "ct", "7r\tw")
    term._tmux("paste-buffer", "-p", "-d", "-b", "ct", "-t", w)  # -p: bracketed, as the terminal pastes
    screen = term.wait_for(w, "paste ignored")
    assert "Average →" in screen and "Dark" in screen  # no screen switch, nothing run
    term.send(w, "Tab")  # frames
    term._tmux("set-buffer", "-b", "ct", "run7/a.cbf\tb.cbf")
    term._tmux("paste-buffer", "-p", "-d", "-b", "ct", "-t", w)
    screen = term.wait_for(w, "run7/a.cbf b.cbf")
    assert "run7" not in field_line(screen, "List files"), screen
    term.send(w, "C-q")
    assert term.wait_exit(w) == 0
