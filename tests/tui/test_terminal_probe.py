"""Graphics support is asked in one round trip before Textual starts, and textual-image (imported
only when a picture is first shown) picks the widget of the protocol the terminal said, without
asking the terminal again. A pseudo-terminal plays the terminal: it answers the Kitty graphics
query and DA1 the way Kitty, a Sixel terminal and tmux do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from calterm.tui.widgets.terminal_probe import parse_answers

CHILD = r"""
import json, sys
from calterm.tui.widgets import image_modes
supported = image_modes.detect_graphics()
before = "textual_image" in sys.modules
sys.__stdout__.write("\x1b[0mMARK")  # everything the terminal receives after this is a further query
sys.__stdout__.flush()
widget = image_modes.graphics_widget()
name = None
if widget is not None:
    import textual_image.widget as w
    name = next((n for n in ("SixelImage", "TGPImage") if getattr(w, n) is widget), widget.__name__)
out = {"supported": supported, "textual_image_before": before, "widget": name,
       "modes": image_modes.available_modes("truecolor")}
open(sys.argv[1], "w").write(json.dumps(out))
"""


def _play_terminal(master: int, kitty: bool, da1: bytes, received: list[bytes]) -> None:
    """Answer the queries in the order they come, as a terminal does; keep everything received."""
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            return
        if not chunk:
            return
        seen += chunk
        received.append(chunk)
        if b"\x1b_G" in seen and b"a=q" in seen and kitty:
            os.write(master, b"\x1b_Gi=31;OK\x1b\\")
            seen = seen.replace(b"\x1b_G", b"")
        if b"\x1b[c" in seen:
            os.write(master, da1)
            seen = seen.replace(b"\x1b[c", b"")


def _run_in_terminal(tmp_path, kitty: bool, da1: bytes) -> tuple[dict, bytes]:
    master, slave = os.openpty()
    received: list[bytes] = []
    player = threading.Thread(target=_play_terminal, args=(master, kitty, da1, received), daemon=True)
    player.start()
    out = tmp_path / "out.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out)], stdin=slave, stdout=slave,
                          stderr=subprocess.PIPE, env=env, timeout=60, start_new_session=True)
    os.close(slave)
    player.join(timeout=5)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return json.loads(out.read_text()), b"".join(received)


@pytest.mark.parametrize(("kitty", "da1", "widget"), [
    (True, b"\x1b[?62;22c", "TGPImage"),  # Kitty: graphics protocol, no Sixel
    (False, b"\x1b[?62;4;22c", "SixelImage"),  # a Sixel terminal (attribute 4)
    (True, b"\x1b[?62;4c", "SixelImage"),  # both: Sixel first, as textual-image chooses
    (False, b"\x1b[?1;2c", None),  # tmux, most terminals: neither
])
def test_graphics_detected_before_the_app_and_its_widget_imported_later(tmp_path, kitty, da1, widget):
    out, received = _run_in_terminal(tmp_path, kitty, da1)
    assert out["textual_image_before"] is False  # the first screen does not pay textual-image's import
    assert out["supported"] is (widget is not None)
    assert out["widget"] == widget
    assert out["modes"] == (["graphics"] if widget else []) + ["halfblock", "braille"]
    queries, after = received.split(b"MARK", 1)
    assert b"\x1b_G" in queries and b"\x1b[c" in queries  # one round trip: Kitty query, then DA1
    assert after.count(b"\x1b[c") == 0 and b"\x1b_G" not in after and b"\x1b[16t" not in after  # never asked again


def test_parse_answers():
    a = parse_answers(b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;22c")
    assert (a.kitty, a.sixel, a.cell_px, a.protocol) == (True, False, (10, 20), "kitty")
    a = parse_answers(b"\x1b_Gi=31;ENOTSUPPORTED:no\x1b\\\x1b[?62;4;9c", cell_px=(8, 16))
    assert (a.kitty, a.sixel, a.cell_px, a.protocol) == (False, True, (8, 16), "sixel")
    a = parse_answers(b"\x1b[?1;2c")  # tmux: neither; the attribute list has no 4 (14 is not 4)
    assert a.protocol is None and a.cell_px is None
    assert parse_answers(b"\x1b[?62;14c").sixel is False
    assert parse_answers(b"").protocol is None  # no answer at all (timed out)
