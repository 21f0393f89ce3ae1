"""A checkbox that reads without colour: ``[x]`` when checked, ``[ ]`` when not.

Textual's own Checkbox draws ``▐X▌`` in both states and tells them apart by colour only, which
a 16-colour terminal, a monochrome one or a colour-blind user cannot see. Every screen uses this
one instead (same messages, same keys: space or enter toggles), so the state is in the glyph.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox as TextualCheckbox


class Checkbox(TextualCheckbox):
    DEFAULT_CSS = """
    Checkbox > .toggle--button { background: transparent; color: $foreground; text-style: bold; }
    Checkbox.-on > .toggle--button { background: transparent; color: $foreground; text-style: bold; }
    Checkbox:focus > .toggle--button { text-style: bold reverse; }
    """

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble(("[x]" if self.value else "[ ]", style))

    def render(self) -> Content:
        """The box alone when there is no label. Textual pads even an empty label to two spaces
        but counts none in the width, so a form's label-less box showed as ``[ …``."""
        if not self._label:
            return self._button
        return super().render()
