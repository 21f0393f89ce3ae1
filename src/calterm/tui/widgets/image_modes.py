"""How the image view draws: terminal graphics (real pixels), colour half-blocks or braille dots.

``auto`` (the default) picks graphics where the terminal said it shows Kitty graphics or Sixel,
half-blocks in any colour terminal (16 colours included) and braille only without colour. The
mode is chosen by ``--image-mode``, by ``$CALTERM_IMAGE_MODE`` or by ``m`` on an image view (which
cycles the modes this terminal can show). Support must be asked before Textual starts (the
terminal's answer would go to Textual's input thread): :func:`detect_graphics` is called by
``calterm tui`` just before the app runs, only when the mode may need it, and asks in one round trip
(:mod:`terminal_probe`). ``textual-image`` itself is imported only when a picture is first shown,
after the first screen, with its own start-up queries answered from what the terminal said.
"""

from __future__ import annotations

import os
import sys

MODES = ("auto", "graphics", "halfblock", "braille")
ENV = "CALTERM_IMAGE_MODE"

# the mode asked for, the terminal's answers (terminal_probe.TerminalAnswers) and the widget class
_state: dict[str, object] = {"mode": None, "widget": None, "answers": None}


def parse_mode(text: str) -> str:
    """A mode name (case-insensitive; ``half-block`` and ``half`` accepted) or ValueError."""
    name = text.strip().lower().replace("-", "")
    name = {"half": "halfblock", "kitty": "graphics", "sixel": "graphics"}.get(name, name)
    if name not in MODES:
        raise ValueError(f"image mode {text!r}: expected one of {', '.join(MODES)}")
    return name


def chosen_mode() -> str:
    """The mode asked for: set by :func:`set_mode`, else ``$CALTERM_IMAGE_MODE``, else auto (an
    unknown name in the environment is ignored: the app must open)."""
    if _state["mode"] is not None:
        return str(_state["mode"])
    try:
        return parse_mode(os.environ.get(ENV, "auto") or "auto")
    except ValueError:
        return "auto"


def set_mode(mode: str) -> None:
    _state["mode"] = parse_mode(mode)


def detect_graphics() -> bool:
    """Ask the terminal (once, before Textual starts) whether it shows Kitty graphics or Sixel."""
    if _state["widget"] is None and _state.get("answers") is None:
        stdin, stdout = sys.__stdin__, sys.__stdout__
        if stdin is None or stdout is None:
            return False
        from calterm.tui.widgets.terminal_probe import ask_terminal

        try:
            _state["answers"] = ask_terminal(stdin.fileno(), stdout.fileno())
        except (OSError, ValueError):  # no terminal, a closed descriptor: half-blocks then
            return False
    return graphics_supported()


def graphics_supported() -> bool:
    """Whether this terminal shows graphics (asked at start-up, or a widget class set by a test)."""
    answers = _state.get("answers")
    return _state["widget"] is not None or (answers is not None and answers.protocol is not None)


def graphics_widget():
    """The textual-image widget class for this terminal's protocol, or None without support.

    The first call imports textual-image (~50 ms: after the first screen, when a picture is shown)."""
    if _state["widget"] is None and graphics_supported():
        try:
            _state["widget"] = _import_widget(_state["answers"])
        except Exception:  # a broken install: half-blocks then
            _state["answers"] = None
    return _state["widget"]


def _import_widget(answers):
    """textual-image's widget for the protocol the terminal said, without the terminal queries its
    import makes (Textual reads the terminal now: their answers would arrive as keys, after a 0.1 s
    wait each); the cell size it asks for is the one the terminal gave."""
    from textual_image import _terminal

    def refuse(*args, **kwargs):
        raise _terminal.TerminalError("the terminal was asked before the app started")

    _terminal.get_cell_size._result = _terminal.CellSize(*(answers.cell_px or (10, 20)))  # else VT340's, as textual-image
    asking, _terminal.capture_terminal_response = _terminal.capture_terminal_response, refuse
    try:
        from textual_image.widget import SixelImage, TGPImage
    finally:
        _terminal.capture_terminal_response = asking
    return SixelImage if answers.protocol == "sixel" else TGPImage


def set_graphics_widget(widget_class) -> None:
    """Use this textual-image widget class for graphics (tests force one; None turns graphics off)."""
    _state["widget"] = widget_class
    if widget_class is None:
        _state["answers"] = None


def available_modes(color_system: str | None) -> list[str]:
    """The concrete modes this terminal can show, best first."""
    out = ["graphics"] if graphics_supported() else []
    return [*out, "halfblock", "braille"] if color_system else [*out, "braille", "halfblock"]


def resolve(mode: str, color_system: str | None) -> str:
    """A concrete mode for ``mode``: auto picks the best available; graphics without support falls
    back to half-blocks."""
    if mode == "auto":
        return available_modes(color_system)[0]
    if mode == "graphics" and not graphics_supported():
        return "halfblock"
    return mode


def next_mode(current: str, color_system: str | None) -> str:
    """The mode after ``current`` among the available ones (what ``m`` switches to)."""
    modes = available_modes(color_system)
    return modes[(modes.index(current) + 1) % len(modes)] if current in modes else modes[0]
