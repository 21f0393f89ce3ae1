"""How the image view draws: terminal graphics (real pixels), colour half-blocks or braille dots.

``auto`` (the default) picks graphics where ``textual-image`` found Kitty graphics or Sixel support,
half-blocks in any colour terminal (16 colours included) and braille only without colour. The
mode is chosen by ``--image-mode``, by ``$CALTERM_IMAGE_MODE`` or by ``m`` on an image view (which
cycles the modes this terminal can show). Support must be detected before Textual starts (the
terminal's answer would go to Textual's input thread): :func:`detect_graphics` is called by
``calterm tui`` just before the app runs, and only when the mode may need it.
"""

from __future__ import annotations

import os
import sys

MODES = ("auto", "graphics", "halfblock", "braille")
ENV = "CALTERM_IMAGE_MODE"

_state: dict[str, object] = {"mode": None, "widget": None}


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
    if _state["widget"] is None and sys.__stdout__ is not None and sys.__stdout__.isatty():
        try:
            from textual_image.renderable import Image as Renderable
            from textual_image.renderable import SixelImage, TGPImage
            from textual_image.widget import Image as ImageWidget
        except Exception:  # no answer, no terminal, a broken install: half-blocks then
            return False
        if Renderable in (SixelImage, TGPImage):
            _state["widget"] = ImageWidget
    return _state["widget"] is not None


def graphics_widget():
    """The textual-image widget class for this terminal's protocol, or None without support."""
    return _state["widget"]


def set_graphics_widget(widget_class) -> None:
    """Use this textual-image widget class for graphics (tests force one; None turns graphics off)."""
    _state["widget"] = widget_class


def available_modes(color_system: str | None) -> list[str]:
    """The concrete modes this terminal can show, best first."""
    out = ["graphics"] if graphics_widget() is not None else []
    return [*out, "halfblock", "braille"] if color_system else [*out, "braille", "halfblock"]


def resolve(mode: str, color_system: str | None) -> str:
    """A concrete mode for ``mode``: auto picks the best available; graphics without support falls
    back to half-blocks."""
    if mode == "auto":
        return available_modes(color_system)[0]
    if mode == "graphics" and graphics_widget() is None:
        return "halfblock"
    return mode


def next_mode(current: str, color_system: str | None) -> str:
    """The mode after ``current`` among the available ones (what ``m`` switches to)."""
    modes = available_modes(color_system)
    return modes[(modes.index(current) + 1) % len(modes)] if current in modes else modes[0]
