"""A checkbox that reads the same without colour: ``[x]`` checked, ``[ ]`` not (issue 15, item 6).

Textual's own box draws ``▐X▌`` in both states and tells them apart by colour only, which a
16-colour or monochrome terminal over SSH may not show. Kept beside the single-ring screen, its
one user here; an app-wide checkbox widget can replace it without changing the screen.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TextCheckbox(Checkbox):
    """``[x] label`` / ``[ ] label``."""

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble("[", ("x" if self.value else " ", style), "]")
