"""The align screen with a calibration: the ring fit's per-panel offsets with σ and significance,
and the CrystFEL geometry written from the screen (the same core call as ``calterm align --poni``)."""

from __future__ import annotations

import asyncio

import numpy as np

from calterm.core.common.geometry import PoniGeometry

P = 100e-6


def test_the_ring_fit_on_the_align_screen(tui, isolated_home, quadrant_powder):
    async def go():
        app = tui.open_app([str(isolated_home / "powder.npy"), "--calibrant", "CeO2"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("9")
            await tui.settle(app, pilot)
            screen = app.screen
            screen.query_one("#f-poni").value = str(isolated_home / "calib.poni")
            screen.query_one("#f-calibrant").value = "CeO2"
            screen.query_one("#f-geom").value = "detector.geom"
            screen.set_focus(None)
            await pilot.press("r")
            await tui.settle(app, pilot, timeout=180)
            run = screen.aligned["run"]
            assert run.method == "ring fit"
            verdicts = {p.name: p.significant for p in run.fit.panels}
            assert verdicts == {"top-left": False, "top-right": True, "bottom-right": False, "bottom-left": False}
            text = tui.screen_text(app)
            assert "ring fit" in text and "top-right !" in text
            moved = next(p for p in run.fit.panels if p.name == "top-right")
            assert f"{moved.sigma[0]:.3f}" in text
            await pilot.press("w")
            await tui.settle(app, pilot)
            assert (isolated_home / "detector.v0.geom").is_file()
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_the_centre_offered_is_in_image_pixels_whatever_the_orientation():
    """The align screen's centre comes from the session's calibration: Fit2D's centre is in the
    detector's frame, which differs from the image's for orientations other than 3 (PONI 2.1); the
    screen offered it as is. The centre offered is where the beam meets the image, as pyFAI says.
    (The screen's own method on a session holding only what it reads: a live session would
    autosave the stand-in result.)"""
    from types import SimpleNamespace

    import pyFAI.detectors

    from calterm.tui.screens.health.align import AlignScreen
    from calterm.tui.screens.tool_form import Field

    det = pyFAI.detectors.Detector(P, P, max_shape=(256, 300), orientation=1)  # both axes reversed
    geo = PoniGeometry(0.1, 60.2 * P, 210.7 * P, 0.0, 0.0, 0.0, 1e-10)
    result = SimpleNamespace(detector=det, geometry=geo, fit2d=geo.fit2d(det))
    screen = SimpleNamespace(session=SimpleNamespace(result=result, request=None, outputs={}))
    offered = AlignScreen.default_for(screen, Field("center", "Centre x,y", "", ""))
    # pyFAI: the pixel whose (row, col) centre is at the PONI (no tilt: the beam's foot)
    r = geo.to_pyfai(det).rArray((256, 300))
    row, col = np.unravel_index(np.argmin(r), r.shape)
    x, y = (float(v) for v in offered.split(","))
    assert abs(x - col) <= 0.5 and abs(y - row) <= 0.5, (offered, col, row)


def test_a_resumed_sessions_calibration_aligns_without_a_poni_file(tui, isolated_home, quadrant_powder):
    """Align with no PONI uses the session's result; a resumed session keeps its detector as data
    (rebuilt where needed), and the screen handed align() the result's empty detector (main: "internal
    error: TypeError: unsupported operand type(s) for *: 'NoneType' and 'NoneType'")."""
    from calterm.core.calibrate.model import CalibrationRequest
    from calterm.core.calibrate.pipeline import calibrate
    from calterm.tui.session import Session, request_key
    from calterm.tui.session_file import save_session

    image, _ = quadrant_powder
    request = CalibrationRequest(str(image), "CeO2", 0.5e-10, pixel_size_um=100.0, distance_mm=50.0,
                                 center_xy=(125.0, 131.0))
    result = calibrate(request)
    assert abs(result.geometry.dist - 0.05) < 2e-4
    session = Session(request=request)
    session.set_result(result, request_key(request))
    session_file = save_session(session, isolated_home / "s.json")

    async def go():
        app = tui.open_app(["--resume", "--session", str(session_file)])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.session.result is not None and app.session.result.detector is None  # as resumed
            await pilot.press("9")
            await tui.settle(app, pilot)
            screen = app.screen
            assert screen.query_one("#f-poni").value == ""
            screen.set_focus(None)
            await pilot.press("r")
            await tui.settle(app, pilot, timeout=180)
            assert app.jobs.finished[0].status == "done", app.jobs.finished[0].message
            run = screen.aligned["run"]
            assert run.method == "ring fit"
            moved = next(p for p in run.fit.panels if p.name == "top-right")
            assert moved.significant
            await pilot.press("ctrl+q")

    asyncio.run(go())
