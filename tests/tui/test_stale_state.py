"""Results remember the inputs they came from: opening another image (ctrl+o) or changing an input a
result depends on takes the result off every screen, visibly; a resumed session shows only results
that still belong to its image.

The seam this guards: after calibrating the demo and opening another image, screen 5 kept the old
table and "verdict: good" under "no calibration yet", screen 2 kept drawing the demo's predicted
rings over the new image, and screen 6 the old single-ring fit; ``--resume`` restored that mix."""

from __future__ import annotations

import asyncio
import math

import numpy as np

from calterm.core.common.calibrants import load_calibrant
from calterm.core.simulate.powder import demo_case, make_detector


def _ring_points(n: int = 9):
    case = demo_case()
    det = make_detector(case)
    geo = case.geometry
    cx, cy = geo.beam_center_px(det)
    radius = geo.dist * math.tan(float(load_calibrant("LaB6").two_theta_rad(geo.wavelength)[0])) / det.pixel1
    phis = np.radians(np.arange(0, 360, 360 / n) + 7)
    return [(cx + radius * math.cos(p), cy + radius * math.sin(p)) for p in phis]


async def _calibrate_and_fit_circle(app, pilot, tui):
    """Calibrate the demo (screen 5 shows it) and fit its first ring (screen 6 shows it)."""
    await tui.settle(app, pilot)
    await pilot.press("c")
    await tui.settle(app, pilot)
    assert app.current_mode == "results" and app.session.result is not None
    assert "verdict: good" in tui.screen_text(app)
    await pilot.press("6")
    await tui.settle(app, pilot)
    app.screen.query_one("#circle-xy").focus()
    for x, y in _ring_points():
        await pilot.press(*f"{x:.2f},{y:.2f}", "enter")
    app.screen.query_one("#circle-preview").focus()
    await pilot.press("f")
    await tui.settle(app, pilot)
    assert app.session.circle_result is not None
    assert "radius" in tui.screen_text(app)


async def _open(app, pilot, tui, path) -> None:
    await pilot.press("ctrl+o")
    await pilot.pause(0.2)
    field = app.screen.query_one("#answer")
    field.value = str(path)
    await pilot.press("enter")
    await tui.settle(app, pilot)


def test_open_another_image_takes_old_results_off_every_screen(tui, rendered):
    other = rendered("pilatus").path

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await _calibrate_and_fit_circle(app, pilot, tui)
            await _open(app, pilot, tui, other)
            assert app.session.request.image_path == str(other)

            await pilot.press("5")
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "no calibration for this image" in text
            assert "verdict" not in text and "RMS" not in text
            assert app.screen.query_one("#ring-table").row_count == 0
            assert app.screen.query_one("#point-table").row_count == 0

            await pilot.press("2")
            await tui.settle(app, pilot)
            preview = app.screen.query_one("#preview")
            # the rings drawn are the ones the new image's start values predict, not the demo's fit
            assert preview.image is not None and preview.image.shape == (1043 // 2, 981 // 2)
            assert preview.rings is not None and preview.rings.tth_grid.shape == (
                math.ceil(preview.image.shape[0] / preview.rings.step),
                math.ceil(preview.image.shape[1] / preview.rings.step))

            await pilot.press("6")
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "radius" not in text and "0 points" in text
            assert app.screen.query_one("#circle-points").row_count == 0
            assert app.session.circle_result is None and app.session.circle_points == ()

    asyncio.run(go())


# --- resume and changed inputs, on a saved session (no calibration needed: fast) -----------------


def _saved_session(tmp_path, rendered, *, wavelength_in_key: float | None = None):
    """A session on a copy of a rendered image, with a result, points and a circle fit recorded
    for it (the result's key optionally for another wavelength), saved to a file."""
    import shutil

    from tests.tui.test_session import _result

    from calterm.core.calibrate.model import CalibrationRequest, ControlPoint
    from calterm.tui.session import Session, image_key, request_key
    from calterm.tui.session_file import save_session

    image = tmp_path / "b.tif"
    shutil.copy(rendered("pilatus").path, image)
    request = CalibrationRequest(image_path=str(image), calibrant="LaB6", wavelength_m=0.4e-10,
                                 detector="Pilatus1M", points=(ControlPoint(100.0, 120.0, 1),))
    keyed = request if wavelength_in_key is None else CalibrationRequest(
        image_path=str(image), calibrant="LaB6", wavelength_m=wavelength_in_key, detector="Pilatus1M")
    s = Session(request=request, screen="results", circle_points=(ControlPoint(3.0, 4.0, 1),),
                circle_result={"center": [250.0, 260.0], "radius": 80.0}, circle_key=image_key(request),
                points_key=image_key(request))
    s.set_result(_result(), request_key(keyed))
    path = save_session(s, tmp_path / "saved.json")
    return path, image


def _spy_notes(app) -> list[str]:
    notes: list[str] = []
    notify = app.notify

    def spy(message, **kw):
        notes.append(str(message))
        return notify(message, **kw)

    app.notify = spy
    return notes


async def _resumed(tui, path):
    app = tui.open_app(["--resume", "--session", str(path)])
    return app, _spy_notes(app)


def test_resume_shows_a_consistent_result(tui, tmp_path, rendered):
    path, _ = _saved_session(tmp_path, rendered)

    async def go():
        app, notes = await _resumed(tui, path)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.current_mode == "results" and app.session.result is not None and notes == []
            text = tui.screen_text(app)
            assert "180.000" in text and "no calibration for this image" not in text
            assert app.session.circle_result is not None and len(app.session.request.points) == 1

    asyncio.run(go())


def test_resume_drops_a_result_whose_image_changed_on_disk(tui, tmp_path, rendered):
    import os

    path, image = _saved_session(tmp_path, rendered)
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))  # the file was rewritten since

    async def go():
        app, notes = await _resumed(tui, path)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            s = app.session
            assert s.result is None and s.circle_result is None and s.request.points == () and s.circle_points == ()
            assert any(n.startswith("calibration dropped: it was made for b.tif (image changed)") for n in notes)
            assert any("circle fit dropped" in n for n in notes)
            assert any(n.startswith("1 ring points and 1 circle points cleared") for n in notes)
            text = tui.screen_text(app)
            assert "no calibration for this image" in text and "180.000" not in text and "verdict" not in text
        # and the saved session no longer holds them: a second resume is quiet
        again, notes2 = await _resumed(tui, path)
        async with again.run_test(size=(80, 24)) as pilot:
            await tui.settle(again, pilot)
            assert again.session.result is None and notes2 == []

    asyncio.run(go())


def test_resume_drops_a_result_whose_key_is_not_the_saved_request(tui, tmp_path, rendered):
    path, _ = _saved_session(tmp_path, rendered, wavelength_in_key=0.5e-10)

    async def go():
        app, notes = await _resumed(tui, path)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.session.result is None
            assert any("wavelength_m changed" in n for n in notes), notes
            # points and the circle fit do not depend on the wavelength: they stay
            assert app.session.circle_result is not None and len(app.session.request.points) == 1
            assert "no calibration for this image" in tui.screen_text(app)

    asyncio.run(go())


def test_a_version_1_session_result_without_its_inputs_is_dropped(tui, tmp_path, rendered):
    import json

    path, _ = _saved_session(tmp_path, rendered)
    doc = json.loads(path.read_text())
    doc["version"] = 1
    for key in ("result_key", "points_key", "circle_key"):
        doc.pop(key)
    path.write_text(json.dumps(doc))

    async def go():
        app, notes = await _resumed(tui, path)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.session.result is None and app.session.circle_result is None
            assert any("saved without the inputs it came from" in n for n in notes), notes

    asyncio.run(go())


def test_typing_another_wavelength_or_rotating_invalidates_what_depends_on_it(tui, tmp_path, rendered):
    path, _ = _saved_session(tmp_path, rendered)

    async def go():
        app, notes = await _resumed(tui, path)
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.session.result is not None
            await pilot.press("1")
            await tui.settle(app, pilot)
            field = app.screen.query_one("#f-wavelength")
            field.focus()
            field.value = ""
            await pilot.press(*"0.41", "escape")
            await tui.settle(app, pilot)
            assert app.session.request.wavelength_m == 0.41e-10 and app.session.result is None
            assert len(app.session.request.points) == 1  # points are pixels: the wavelength leaves them
            await pilot.press("5")
            await tui.settle(app, pilot)
            assert "no calibration for this image" in tui.screen_text(app)
            # rotating the image moves every pixel: the points and the circle fit go
            app.update_request("all", geometry=True, rotate=90)
            await tui.settle(app, pilot)
            assert app.session.request.points == () and app.session.circle_result is None
            assert any("rotate changed" in n for n in notes), notes

    asyncio.run(go())
