"""The image view (issue 15 item 1): on the demo image at the 80x24 layout's size, the half-block
cells on the true rings are brighter than the cells between them; every mode draws with the rings,
points and cursor; modes are chosen by the environment and cycled by ``m``; a redraw of a 4 Mpx
image after the first takes well under 100 ms."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from textual.app import App

from calterm.core.common.calibrants import load_calibrant
from calterm.core.simulate.powder import demo_case, make_detector, render
from calterm.tui.preview_data import PreviewImage, RingModel
from calterm.tui.widgets import image_modes
from calterm.tui.widgets.image_cells import Palette, halfblock_strips
from calterm.tui.widgets.image_preview import ImagePreview
from calterm.tui.widgets.image_raster import normalised, ring_mask, sample, view_range, window_for

CELLS = (44, 19)  # the points screen's image at 80x24 (the side panel takes the rest)


@pytest.fixture(autouse=True)
def fresh_modes(monkeypatch):
    monkeypatch.delenv(image_modes.ENV, raising=False)
    monkeypatch.setattr(image_modes, "_state", {"mode": None, "widget": None})


@pytest.fixture(scope="module")
def demo():
    case = demo_case()
    det = make_detector(case)
    data, _ = render(case, det)
    image = PreviewImage(("demo",), np.log1p(np.clip(data, 0, None)).astype(np.float32)).prepare()
    step = 4
    rows, cols = np.mgrid[0 : data.shape[0] : step, 0 : data.shape[1] : step]
    tth = case.geometry.tth(det, rows.ravel(), cols.ravel()).reshape(rows.shape).astype(np.float32)
    ring_tth = np.sort(load_calibrant("LaB6").two_theta_rad(case.geometry.wavelength))
    return image, RingModel(tth, step, ring_tth, ("demo",))


def _strip_levels(strips, palette: Palette) -> np.ndarray:
    """Ramp index of each half-block pixel as drawn (upper = foreground, lower = background)."""
    index = {name: i for i, name in enumerate(palette.ramp)}
    rows = []
    for strip in strips:
        top, bottom = [], []
        for seg in strip:
            for ch in seg.text:
                fg = index.get(seg.style.color.name if seg.style.color else None, -1)
                bg = index.get(seg.style.bgcolor.name if seg.style.bgcolor else None, -1)
                top.append(fg if ch == "▀" else bg)
                bottom.append(bg)
        rows += [top, bottom]
    return np.array(rows)


@pytest.mark.parametrize("sixteen", [False, True])
def test_halfblock_cells_on_the_true_rings_are_brighter_than_between_them(demo, sixteen):
    image, rings = demo
    win = window_for(image.shape, CELLS[0], 2 * CELLS[1])
    values, inside = sample(image, win)
    palette = Palette.for_colours(sixteen)
    drawn = _strip_levels(halfblock_strips(palette.levels(normalised(values, view_range(values, inside)), inside),
                                           palette), palette)
    assert drawn.shape == (2 * CELLS[1], CELLS[0])
    xc, yc = win.centres()
    tth = rings.tth_at(*np.meshgrid(xc, yc))
    per_pixel = np.nanmedian(np.abs(np.diff(tth, axis=1)))
    r = rings.ring_tth
    # at this size a display pixel is 27 image pixels (0.026 rad of 2θ near the centre): rings 1 and 2
    # are 1.3 display pixels apart, rings 2 and 3 one (no renderer can part those); ring 1 must
    # stand out of the centre inside it and of the gap to ring 2
    valid = drawn >= 0
    on = valid & (np.abs(tth - r[0]) < 0.5 * per_pixel)
    gap = valid & (np.abs(tth - (r[0] + r[1]) / 2) < 0.25 * per_pixel)
    centre = valid & (tth < r[0] - 1.0 * per_pixel)
    assert on.sum() >= 8 and gap.sum() >= 4 and centre.sum() >= 4
    ramp = len(palette.ramp) - 1
    assert drawn[on].mean() > drawn[centre].mean() + 0.3 * ramp
    assert drawn[on].mean() > drawn[gap].mean() + 0.1 * ramp


def test_ring_overlay_follows_the_predicted_rings(demo):
    image, rings = demo
    win = window_for(image.shape, CELLS[0], 2 * CELLS[1])
    mask = ring_mask(rings, win)
    xc, yc = win.centres()
    tth = rings.tth_at(*np.meshgrid(xc, yc))
    per_pixel = np.nanmedian(np.abs(np.diff(tth, axis=1)))
    dist = np.min(np.abs(tth[..., None] - rings.ring_tth[None, None, :3]), axis=-1)
    assert mask.sum() > 40
    assert np.median(dist[mask]) < 1.5 * per_pixel  # contour pixels sit on rings 1-3


class ViewApp(App):
    CSS = "ImagePreview { width: 46; height: 21; }"

    def compose(self):
        yield ImagePreview(id="view")

    def on_mount(self) -> None:
        from calterm.tui.themes import load_themes

        for theme in load_themes():
            self.register_theme(theme)


def _run(check, theme: str | None = None):
    async def go():
        app = ViewApp()
        async with app.run_test(size=(80, 24)) as pilot:
            if theme:
                app.theme = theme
            await pilot.pause()
            await check(app, pilot, app.query_one(ImagePreview))

    asyncio.run(go())


def test_every_mode_draws_rings_points_and_cursor_and_m_cycles(demo, monkeypatch):
    image, rings = demo
    monkeypatch.setenv(image_modes.ENV, "halfblock")

    async def check(app, pilot, view):
        view.show(image=image, rings=rings, points=[(700.0, 300.0, 1)], cursor=(480.0, 520.0))
        view.focus()
        await pilot.pause()
        assert view.mode == "halfblock"
        lines = [view.render_line(y).text for y in range(view.size.height)]
        text = "\n".join(lines)
        assert text.count("▀") > 0.8 * CELLS[0] * CELLS[1] and "+" in text and "x" in text
        styles = {seg.style.color.name for y in range(view.size.height) for seg in view.render_line(y)
                  if seg.style and seg.style.color}
        assert Palette.for_colours(view.sixteen_colours()).overlay["ring"] in styles
        await pilot.press("m")  # no terminal graphics here: half-blocks -> braille
        assert image_modes.chosen_mode() == "braille" and view.mode == "braille"
        text = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert sum(0x2800 < ord(c) <= 0x28FF for c in text) > 100 and "+" in text
        step = view.pixels_per_dot()  # a braille dot: half a half-block pixel wide
        await pilot.press("m")
        assert view.mode == "halfblock" and view.pixels_per_dot() == pytest.approx(2 * step)

    _run(check)


def test_sixteen_colour_theme_uses_the_ansi_ramp(demo):
    image, rings = demo

    async def check(app, pilot, view):
        view.show(image=image, rings=rings, cursor=(480.0, 520.0))
        await pilot.pause()
        assert view.sixteen_colours()
        names = {seg.style.bgcolor.name for y in range(view.size.height) for seg in view.render_line(y)
                 if seg.style and seg.style.bgcolor}
        assert names <= {*Palette.for_colours(True).ramp, "bright_magenta"} and len(names) >= 4

    _run(check, theme="calterm-contrast")


def test_graphics_mode_burns_overlays_into_the_picture(demo, monkeypatch):
    from textual_image.widget import HalfcellImage  # a textual-image widget that draws headless

    image, rings = demo
    image_modes.set_graphics_widget(HalfcellImage)
    monkeypatch.setenv(image_modes.ENV, "auto")

    async def check(app, pilot, view):
        view.show(image=image, rings=rings, points=[(700.0, 300.0, 1)], cursor=(480.0, 520.0))
        await pilot.pause()
        assert view.mode == "graphics"
        view.render_line(0)
        await pilot.pause()
        pic = np.asarray(view._graphic.image)
        assert pic.shape == (4 * 2 * view.size.height, 4 * view.size.width, 3)
        colours = {tuple(c) for c in pic.reshape(-1, 3)}
        assert {(255, 64, 255), (255, 48, 48), (64, 255, 64)} <= colours  # ring, cursor, point
        win = view.window()
        c, r = win.to_display(480.0, 520.0)
        assert tuple(pic[r, c]) == (255, 48, 48)
        # clicks map back to image positions in graphics mode too
        x, y = win.to_image(c + 0.5, r + 0.5)
        assert abs(x - 480.0) <= win.step and abs(y - 520.0) <= win.step

    _run(check)


def test_modes_from_the_environment_and_fallbacks(monkeypatch):
    monkeypatch.setenv(image_modes.ENV, "Half-Block")
    assert image_modes.chosen_mode() == "halfblock"
    monkeypatch.setenv(image_modes.ENV, "nonsense")
    assert image_modes.chosen_mode() == "auto"
    assert image_modes.resolve("auto", "truecolor") == "halfblock"
    assert image_modes.resolve("auto", "standard") == "halfblock"  # 16 colours: still half-blocks
    assert image_modes.resolve("auto", None) == "braille"  # no colour at all
    assert image_modes.resolve("graphics", "truecolor") == "halfblock"  # no support detected
    with pytest.raises(ValueError, match="image mode"):
        image_modes.parse_mode("jpeg")


def test_redraw_of_a_4_mpx_image_after_the_first_is_fast():
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:2048, 0:2048]
    r = np.hypot(x - 1000.0, y - 1030.0)
    data = rng.poisson(20 + 3000 * np.exp(-0.5 * ((r % 150) - 75) ** 2 / 4)).astype(np.float32)
    t0 = time.perf_counter()
    image = PreviewImage(("4M",), np.log1p(data)).prepare()  # in the preview worker
    prepare_s = time.perf_counter() - t0
    palette = Palette.for_colours(False)
    times = []
    for k in range(6):
        cursor = (1000.0 + 37 * k, 1000.0 - 11 * k)
        t0 = time.perf_counter()
        win = window_for(image.shape, CELLS[0], 2 * CELLS[1], zoom=1.0 + k, cursor=cursor)
        values, inside = sample(image, win)
        halfblock_strips(palette.levels(normalised(values, view_range(values, inside)), inside), palette)
        times.append(time.perf_counter() - t0)
    assert prepare_s < 5.0
    assert max(times[1:]) < 0.1, times
