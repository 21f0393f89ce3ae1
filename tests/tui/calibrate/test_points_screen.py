"""Ring points: keyboard cursor and zoom, typed points, single-peak and whole-ring search, checked
against the demo's true geometry (the points must land on the true ring)."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from calterm.core.common.calibrants import load_calibrant
from calterm.core.simulate.powder import demo_case, make_detector


def _truth():
    case = demo_case()
    det = make_detector(case)
    geo = case.geometry
    tth1 = float(load_calibrant("LaB6").two_theta_rad(geo.wavelength)[0])
    cx, cy = geo.beam_center_px(det)
    radius = geo.dist * math.tan(tth1) / det.pixel1
    return geo, det, tth1, (cx, cy), radius


def test_cursor_zoom_typed_points_delete_clear(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            screen = app.screen
            assert app.session.cursor_xy is None  # at its start (the typed centre): not placed yet
            x0, y0 = screen._cursor()
            assert (x0, y0) == tuple(app.session.request.center_xy)
            await pilot.press("right", "right", "down")
            x1, y1 = app.session.cursor_xy
            step = screen.query_one("#preview").pixels_per_dot()
            assert x1 - x0 == pytest.approx(2 * step) and y1 - y0 == pytest.approx(step) and step > 2
            await pilot.press("z", "left", "up")
            assert app.session.zoom and app.session.cursor_xy == pytest.approx((x1 - 1, y1 - 1))
            await pilot.press("z")
            # typed points take the ring number; auto-increment moves it on
            await pilot.press("plus", "i")
            screen.query_one("#xy").focus()
            await pilot.press(*"100.5, 200.25", "enter")
            await pilot.press(*"300,400", "enter")
            pts = app.session.request.points
            assert [(p.x, p.y, p.ring) for p in pts] == [(100.5, 200.25, 2), (300.0, 400.0, 3)]
            screen.query_one("#points").focus()
            await pilot.press("up", "delete")
            assert [(p.x, p.y) for p in app.session.request.points] == [(300.0, 400.0)]
            screen.query_one("#preview").focus()
            await pilot.press("X")
            assert app.session.request.points == ()
            await tui.settle(app, pilot)
            assert "cursor" in tui.screen_text(app)

    asyncio.run(go())


def test_single_peak_and_ring_search_land_on_the_true_ring(tui):
    geo, det, tth1, (cx, cy), radius = _truth()

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            app.session.cursor_xy = (cx + radius + 4.0, cy)  # 4 px outside ring 1, to its right
            await pilot.press("enter")
            await tui.settle(app, pilot)
            (p,) = app.session.request.points
            assert p.ring == 1
            err = math.degrees(float(geo.tth(det, np.array([p.y]), np.array([p.x]))[0]) - tth1)
            assert abs(err) < 0.01  # on the ring, not where the cursor was (0.07° away)
            app.session.cursor_xy = (cx, cy - radius + 3.0)
            await pilot.press("a")
            await tui.settle(app, pilot)
            pts = app.session.request.points[1:]
            assert len(pts) > 30 and {q.ring for q in pts} == {1}
            tth = geo.tth(det, np.array([q.y for q in pts]), np.array([q.x for q in pts]))
            assert np.median(np.abs(np.degrees(tth - tth1))) < 0.01
            angles = np.degrees(np.arctan2([q.y - cy for q in pts], [q.x - cx for q in pts]))
            assert len(set((angles // 30).astype(int))) >= 4  # well beyond the seed (see report: not all round yet)

    asyncio.run(go())


def test_a_bad_typed_point_is_refused_in_one_line(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            before = app.session.request.points
            app.screen.query_one("#xy").focus()
            await pilot.press(*"12,abc", "enter")
            app.screen.query_one("#xy").value = ""  # a refused entry stays in the field to be corrected
            await pilot.press(*"nan,4", "enter")
            await tui.settle(app, pilot)
            assert app.session.request.points == before  # nothing added, the app still running
            notes = [n.message for n in app._notifications]
            assert any("expected X,Y" in m for m in notes) and any("finite" in m for m in notes)

    asyncio.run(go())


def test_the_cursor_starts_at_the_image_centre_once_the_image_is_read(tui, rendered):
    """An image without a typed centre: the status shows the image's centre as soon as the image is
    read, not "cursor 0.0, 0.0" until the first key (the view and the status disagreed)."""
    case = rendered("pilatus")
    h, w = case.image.shape

    async def go():
        app = tui.open_app([str(case.path), "--wavelength", "0.4", "--pixel-size", "344"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("escape", "2")
            await tui.settle(app, pilot)
            await pilot.pause(0.3)
            assert app.current_mode == "points" and app.session.request.center_xy is None
            text = tui.screen_text(app)
            assert f"cursor {(w - 1) / 2:.1f}, {(h - 1) / 2:.1f}" in text, text
            assert "cursor 0.0, 0.0" not in text

    asyncio.run(go())
