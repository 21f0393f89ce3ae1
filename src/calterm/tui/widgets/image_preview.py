"""The detector image in a terminal: log intensity with predicted rings, control points and a
keyboard cursor, drawn as real pixels (terminal graphics), colour half-blocks or braille dots.

The mode is :mod:`image_modes`' (``auto``: graphics where the terminal has it, half-blocks in
any colour terminal, braille without colour); ``m`` cycles it for every view. A redraw samples the
image's cached reduction levels (:mod:`image_raster`), so it costs the same on a 4 Mpx image as on a
small one and never blocks the event loop; the levels are computed by the worker that reads the
image. ``zoom`` 1 fits the image; larger values magnify the region around the cursor (MuscleX's
"approximate click, then precise click"). Overlays are drawn in the cell grid (half-blocks, braille)
or burned into the picture (graphics). Clicks post :class:`ImagePreview.Clicked` with image
coordinates, in every mode.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from calterm.tui.preview_data import PreviewImage, RingModel
from calterm.tui.widgets import image_modes
from calterm.tui.widgets.image_cells import CellMarks, Palette, braille_strips, halfblock_strips
from calterm.tui.widgets.image_graphics import PIXELS_PER_CELL, picture, pil_image
from calterm.tui.widgets.image_raster import Window, normalised, ring_mask, sample, view_range, window_for

SIXTEEN_COLOUR_THEMES = ("calterm-contrast",)
CELL_PIXELS = {"halfblock": (1, 2), "braille": (2, 4), "graphics": (PIXELS_PER_CELL, 2 * PIXELS_PER_CELL)}
MODE_NAMES = {"graphics": "terminal graphics", "halfblock": "colour half-blocks", "braille": "braille dots"}


class ImagePreview(Widget):
    """Log image + predicted rings + points + cursor; pure display, the screen owns the state."""

    DEFAULT_CSS = """
    ImagePreview { width: 1fr; height: 1fr; min-height: 6; border: round $panel; }
    ImagePreview:focus { border: round $accent; }
    ImagePreview > .graphic { width: 100%; height: 100%; }
    """
    BINDINGS = [Binding("m", "cycle_mode", "Image mode", show=False)]
    can_focus = True

    class Clicked(Message):
        """The user clicked the preview at image position (x, y)."""

        def __init__(self, preview: ImagePreview, x: float, y: float) -> None:
            super().__init__()
            self.preview, self.x, self.y = preview, x, y

    def __init__(self, *, zoom: float = 1.0, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.image: PreviewImage | None = None
        self.rings: RingModel | None = None
        self.points: list[tuple[float, float, int | None]] = []
        self.marked: tuple[float, float] | None = None
        self.cursor: tuple[float, float] | None = None
        self.zoom = zoom
        self.message = "no image"
        self._strips: list[Strip] | None = None
        self._drawn_for: tuple | None = None
        self._graphic = None  # the textual-image child widget, in graphics mode

    # --- state setters (each redraws) ---------------------------------------------------------
    def show(self, image: PreviewImage | None = None, rings: RingModel | None = None, points=None,
             cursor=None, marked=None, message: str | None = None) -> None:
        if image is not None:
            if self.image is not None and image.key != self.image.key:
                self.rings, self.marked = None, None  # they belonged to the image shown before
            self.image = image
        if rings is not None:
            self.rings = rings
        if points is not None:
            self.points = list(points)
        if cursor is not None:
            self.cursor = cursor
        if marked is not None:
            self.marked = marked if marked != () else None
        if message is not None:
            self.message = message
        self._strips = None
        self.refresh()

    # --- mode ---------------------------------------------------------------------------------
    def _color_system(self) -> str | None:
        try:
            return self.app.console.color_system
        except Exception:  # not mounted yet
            return "truecolor"

    @property
    def mode(self) -> str:
        """The concrete mode drawn now: graphics, halfblock or braille."""
        return image_modes.resolve(image_modes.chosen_mode(), self._color_system())

    def sixteen_colours(self) -> bool:
        """Draw with the 16-colour ramp: the contrast theme, or a terminal without more colours."""
        return self.app.theme in SIXTEEN_COLOUR_THEMES or self._color_system() in ("standard", "windows")

    def action_cycle_mode(self) -> None:
        new = image_modes.next_mode(self.mode, self._color_system())
        image_modes.set_mode(new)
        for view in self.screen.query(ImagePreview):
            view.show()
        self.notify(f"image: {MODE_NAMES[new]}")

    # --- geometry -----------------------------------------------------------------------------
    def window(self, mode: str | None = None) -> Window | None:
        """The view on the display grid of ``mode`` (default: the one drawn)."""
        if self.image is None or self.size.width < 1 or self.size.height < 1:
            return None
        cw, ch = CELL_PIXELS[mode or self.mode]
        return window_for(self.image.shape, cw * self.size.width, ch * self.size.height, self.zoom, self.cursor)

    def pixels_per_dot(self) -> float:
        """Image pixels per display pixel of the character grid (the cursor's step): half a cell in
        half-block and graphics modes, a braille dot in braille mode."""
        win = self.window("braille" if self.mode == "braille" else "halfblock")
        return 1.0 if win is None else win.step

    # --- drawing ------------------------------------------------------------------------------
    def _state_key(self) -> tuple:
        return (self.mode, self.size, self.zoom, self.cursor, self.sixteen_colours())

    def _ring_overlay(self, win: Window):
        if self.rings is None or self.image is None or self.rings.image_key not in ((), self.image.key):
            return None  # this image's rings only
        return ring_mask(self.rings, win)

    def _marks(self) -> list[tuple[str, float, float]]:
        out = [("point", p[0], p[1]) for p in self.points]
        if self.marked is not None:
            out.append(("marked", *self.marked))
        if self.cursor is not None:
            out.append(("cursor", *self.cursor))
        return out

    def draw(self) -> list[Strip]:
        """Build the strips (or the picture) for the current state; what a redraw costs."""
        mode = self.mode
        win = self.window(mode)
        if win is None or self.image is None:
            self._set_graphic(None)
            style = Style(dim=True)
            return [Strip([Segment(self.message[: self.size.width], style)])]
        values, inside = sample(self.image, win)
        t = normalised(values, view_range(values, inside))
        ring = self._ring_overlay(win)
        if mode == "graphics":
            marks = [(kind, *win.to_display(x, y)) for kind, x, y in self._marks()]
            self._set_graphic(pil_image(picture(t, inside, ring, marks)))
            return []
        self._set_graphic(None)
        palette = Palette.for_colours(self.sixteen_colours())
        cw, ch = CELL_PIXELS[mode]
        cells = {}
        for kind, x, y in self._marks():
            c, r = win.to_display(x, y)
            cells[(r // ch, c // cw)] = kind
        marks = CellMarks(cells)
        if mode == "braille":
            return braille_strips(t, inside, palette, ring, marks)
        return halfblock_strips(palette.levels(t, inside), palette, ring, marks)

    def _set_graphic(self, picture_image) -> None:
        if picture_image is None:
            if self._graphic is not None:
                self._graphic.display = False
            return
        if self._graphic is None:
            self._graphic = image_modes.graphics_widget()(picture_image, classes="graphic")
            self.mount(self._graphic)
        else:
            self._graphic.image = picture_image
        self._graphic.display = True

    def render_line(self, y: int) -> Strip:
        key = self._state_key()
        if self._strips is None or key != self._drawn_for:
            self._strips, self._drawn_for = self.draw(), key
        return self._strips[y] if y < len(self._strips) else Strip.blank(self.size.width)

    # --- mouse (optional: the keyboard does everything) ----------------------------------------
    def on_click(self, event: events.Click) -> None:
        mode = self.mode
        win = self.window(mode)
        offset = event.get_content_offset(self)
        if win is None or offset is None:
            return
        cw, ch = CELL_PIXELS[mode]
        x, y = win.to_image((offset.x + 0.5) * cw, (offset.y + 0.5) * ch)
        self.post_message(self.Clicked(self, float(x), float(y)))
