"""Screen 6 at parity with ``calterm circle`` (issue 15, item 7), driven by Textual's pilot at 80x24
on a synthetic two-ring image rendered by pyFAI at a known flat geometry
(:mod:`calterm.core.simulate.single_ring`): rings at 137.04 px (d 58.38 Å) and 200.03 px
(d 40 Å) around (255.3, 261.7), λ 0.8 Å, 1000 mm, 100 µm pixels.

Each test fails on the screen as it was (no ``a`` key nor Find button, no fixed centre, no scale
fields, typed positions in the table, the history CSV in the working directory). Numbers are read
off the screen and checked against the geometry the image was rendered at, and against the core
(the CLI's own calls) on the same image, to the last digit."""

from __future__ import annotations

import asyncio
import math
import re

import numpy as np
import pytest

from calterm.core.circle.calibration import calibrate_by_parameters, distance_mm
from calterm.core.circle.fit import fit_ring
from calterm.core.circle.points import working_image
from calterm.core.io.images import load_image, write_image
from calterm.core.simulate.single_ring import SingleRingCase, clicks_on_ring, render_single_ring

CASE = SingleRingCase(d_spacings_nm=(5.838, 4.0), wavelength_A=0.8)
CENTER = CASE.center
R_INNER, R_OUTER = CASE.radii_px()  # 137.04, 200.03 px
HC_KEV_A = 12.398419843320026  # keV·Å: E = hc / λ
TOL_PX = 0.1  # what the core reaches on this noisy image (measured: 0.005 px)


@pytest.fixture(scope="module")
def ring_image(tmp_path_factory):
    """The image in its own folder (not the tests' working directory): outputs go next to it."""
    folder = tmp_path_factory.mktemp("data")
    path = folder / "rings.tif"
    write_image(path, render_single_ring(CASE).astype(np.float32))
    return path


async def _open_circle_screen(tui, app, pilot):
    await tui.settle(app, pilot)
    await pilot.press("6")
    await tui.settle(app, pilot)
    app.screen.query_one("#circle-preview").focus()


async def _type(pilot, app, selector: str, text: str) -> None:
    box = app.screen.query_one(selector)
    box.focus()
    box.value = ""
    if text:
        await pilot.press(*text)


async def _add_points(pilot, app, points) -> None:
    """Each point typed into "add x,y" and entered (the text set at once: typing it key by key is
    test_single_ring_screen's, and slow on a loaded machine)."""
    box = app.screen.query_one("#circle-xy")
    box.focus()
    for x, y in points:
        box.value = f"{x:.1f},{y:.1f}"
        await pilot.press("enter")
    assert len(app.session.circle_points) == len(points)


def _why(app) -> str:  # the newest job comes first
    return app.jobs.finished[0].message if app.jobs.finished else "no job ran"


def _shown_circle(text: str) -> tuple[float, float, float]:
    centre = re.search(r"centre (-?[0-9.]+) ± [0-9.]+, (-?[0-9.]+) ± [0-9.]+", text)
    radius = re.search(r"radius (-?[0-9.]+) ± [0-9.]+ px", text)
    assert centre and radius, text
    return float(centre[1]), float(centre[2]), float(radius[1])


def test_find_ring_key_button_and_seeds(tui, ring_image):
    """``a`` alone: the most prominent ring, exactly the CLI's ``calterm circle IMAGE`` (fit_ring);
    the button with a typed seed radius, and ``a`` with the cursor on the inner ring: that ring."""
    image = load_image(str(ring_image))
    cli = fit_ring(working_image(image.data, image.invalid))

    async def go():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            assert app.jobs.finished[0].name == "Find ring" and app.jobs.finished[0].status == "done"
            assert (*fit["center"], fit["radius"]) == pytest.approx(cli.circle, abs=1e-9)
            shown = _shown_circle(tui.screen_text(app))
            assert shown == pytest.approx((*CENTER, R_OUTER), abs=TOL_PX)
            assert f"{fit['ring_samples']} peaks" in tui.screen_text(app)

            await _type(pilot, app, "#circle-f-seed_radius", "140")  # 3 px off the inner ring
            await pilot.click("#circle-find")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit["seed"] == {"radius_px": 140.0, "from": "seed r", "used": True}
            assert "the ring at r≈140 px (seed r)" in tui.screen_text(app)
            assert _shown_circle(tui.screen_text(app)) == pytest.approx((*CENTER, R_INNER), abs=TOL_PX)
            assert np.abs(np.subtract((*fit["center"], fit["radius"]), (*CENTER, R_INNER))).max() < TOL_PX

            await _type(pilot, app, "#circle-f-seed_radius", "")
            app.screen.query_one("#circle-preview").focus()
            a = math.radians(200)
            app.session.cursor_xy = (CENTER[0] + (R_INNER - 2) * math.cos(a), CENTER[1] + (R_INNER - 2) * math.sin(a))
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit["seed"]["from"] == "the cursor" and fit["seed"]["used"]
            assert np.abs(np.subtract((*fit["center"], fit["radius"]), (*CENTER, R_INNER))).max() < TOL_PX
            assert app.session.tools["circle"]["inputs"]["seed_radius"] == ""  # kept as typed (autosaved)

    asyncio.run(go())


def test_a_cursor_the_user_never_placed_is_no_seed(tui, ring_image):
    """The points screen shows its cursor at a start position (the typed centre, else the image's
    middle); ``a`` on screen 6 took that position as a seed and fitted a "ring" through it (main, on
    the demo: r≈27 px, RMS 4.8 px, where no ring is). Until the user moves or places the cursor,
    ``a`` finds the most prominent ring, as ``calterm circle IMAGE`` does."""
    image = load_image(str(ring_image))
    cli = fit_ring(working_image(image.data, image.invalid))

    async def go():
        app = tui.open_app([str(ring_image), "--center", f"{CENTER[0] + 20:.1f},{CENTER[1] - 15:.1f}"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")  # the points screen: its cursor at the typed centre
            await tui.settle(app, pilot)
            assert "cursor 275.3, 246.7" in tui.screen_text(app)
            await _open_circle_screen(tui, app, pilot)
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            assert fit["seed"] is None
            assert (*fit["center"], fit["radius"]) == pytest.approx(cli.circle, abs=1e-9)
            assert _shown_circle(tui.screen_text(app)) == pytest.approx((*CENTER, R_OUTER), abs=TOL_PX)
            # placed by the user where no ring is (between none and the inner one), the cursor seeds a
            # search that finds no ring: said so, and the most prominent ring kept (main: a circle of
            # r≈60 px fitted through the noise, shown as the result)
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("right")
            await pilot.pause(0.1)
            assert app.session.cursor_xy is not None
            app.session.cursor_xy = (CENTER[0] + 60.0, CENTER[1])
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit["seed"]["from"] == "the cursor" and not fit["seed"]["used"]
            assert any(n.startswith("no ring at r≈60 px (the cursor)") for n in fit["notes"]), fit["notes"]
            assert (*fit["center"], fit["radius"]) == pytest.approx(cli.circle, abs=1e-9)

    asyncio.run(go())


def test_calibration_by_parameters_and_by_d(tui, ring_image):
    """E, distance and pixel size typed: the ring's d in Å; d typed instead: the distance in mm;
    both: the d field is refused in one line."""

    async def go():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            await _type(pilot, app, "#circle-f-seed_radius", "137")
            await pilot.press("enter")  # enter in the seed field finds the ring
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            radius = fit["radius"]
            assert radius == pytest.approx(R_INNER, abs=TOL_PX)
            await pilot.click("#--content-tab-circle-tab-scale")
            await _type(pilot, app, "#circle-f-energy", f"{HC_KEV_A / 0.8:.6f}")
            await _type(pilot, app, "#circle-f-distance", "1000")
            await pilot.pause(0.1)  # a TIFF says no pixel size, and none is guessed from its shape
            assert "by parameters: needs pixel µm" in tui.screen_text(app)
            await _type(pilot, app, "#circle-f-pixel_size", "100")
            await pilot.pause(0.1)
            text = tui.screen_text(app)
            d = re.search(r"d ([0-9.]+) Å\s+\(1/d ([0-9.]+) Å⁻¹\)", text)
            assert d, text
            wavelength = HC_KEV_A / float(f"{HC_KEV_A / 0.8:.6f}")
            core = calibrate_by_parameters(radius, wavelength, 1000.0, 100.0)
            assert float(d[1]) == pytest.approx(core.d_spacing_nm * 10, abs=5e-5)  # shown to 4 decimals
            assert float(d[1]) == pytest.approx(58.38, rel=TOL_PX / R_INNER)  # the truth
            assert float(d[2]) == pytest.approx(1 / float(d[1]), rel=1e-4)

            await _type(pilot, app, "#circle-f-d_spacing_A", "58.38")  # with the distance still typed
            await pilot.pause(0.1)
            assert app.screen.query_one("#circle-f-d_spacing_A").has_class("-invalid")
            assert "not both" in tui.screen_text(app)
            await _type(pilot, app, "#circle-f-distance", "")
            await pilot.pause(0.1)
            text = tui.screen_text(app)
            dist = re.search(r"distance ([0-9.]+) ± ([0-9.]+) mm", text)
            assert dist, text
            expected = distance_mm(radius, 5.838, wavelength, 100.0)
            assert float(dist[1]) == pytest.approx(expected, abs=0.005)
            assert float(dist[1]) == pytest.approx(CASE.distance_mm, rel=TOL_PX / R_INNER)
            assert not app.screen.query_one("#circle-f-d_spacing_A").has_class("-invalid")

    asyncio.run(go())


def test_fixed_centre_box(tui, ring_image):
    """[ ] / [x] readable without colour; checked, both fits keep the typed centre and fit the radius."""
    typed = clicks_on_ring(CASE, 6, jitter_px=1.5, seed=3)

    async def go():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            box = app.screen.query_one("#circle-fixed")
            # the SVG export drops a cell of one blank, so the box's own line is read
            assert "".join(s.text for s in box.render_line(0)).startswith("[ ] fixed")
            await pilot.click("#circle-fixed")
            await _type(pilot, app, "#circle-f-fixed_center", f"{CENTER[0]},{CENTER[1]}")
            assert "".join(s.text for s in box.render_line(0)).startswith("[x] fixed")
            assert "[x] fixed" in tui.screen_text(app)
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            assert fit["fixed_center"] and tuple(fit["center"]) == CENTER
            assert fit["radius"] == pytest.approx(R_OUTER, abs=TOL_PX)
            await _add_points(pilot, app, typed)
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("f")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            assert tuple(fit["center"]) == CENTER and fit["radius"] == pytest.approx(R_INNER, abs=TOL_PX)
            assert "fixed" in tui.screen_text(app)

    asyncio.run(go())


def test_table_shows_the_fitted_positions(tui, ring_image):
    """Clicks up to 1.5 px off the ring: the table shows where the fit put them (on the ring) and
    their residuals, not the typed coordinates."""
    typed = np.round(clicks_on_ring(CASE, 6, jitter_px=1.5, seed=5), 1)

    async def go():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            await _add_points(pilot, app, typed)
            table = app.screen.query_one("#circle-points")
            assert [str(c.label) for c in table.columns.values()][1:3] == ["x typed", "y typed"]
            assert table.get_row_at(0)[1:3] == [f"{typed[0][0]:.2f}", f"{typed[0][1]:.2f}"]
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("f")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            assert [str(c.label) for c in table.columns.values()][1:4] == ["fit x", "fit y", "resid px"]
            rows = [table.get_row_at(i) for i in range(table.row_count)]
            assert len(rows) == len(typed)
            for i, (row, (fx, fy), res) in enumerate(zip(rows, fit["fitted_points"], fit["residuals"], strict=True)):
                assert row[1:4] == [f"{fx:.2f}", f"{fy:.2f}", f"{res:+.3f}"]
                assert abs(math.hypot(fx - CENTER[0], fy - CENTER[1]) - R_INNER) < 0.3  # on the true ring
                assert math.hypot(fx - typed[i][0], fy - typed[i][1]) > 0.05  # not the typed position
            typed_offsets = np.abs(np.hypot(typed[:, 0] - CENTER[0], typed[:, 1] - CENTER[1]) - R_INNER)
            assert typed_offsets.max() > 0.5  # the clicks were off the ring

    asyncio.run(go())


def test_history_csv_next_to_the_image_versioned(tui, ring_image):
    async def go():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            for version in (0, 1):
                await pilot.press("e")
                await pilot.pause(0.2)
                assert app.screen.query_one("#answer").value == str(ring_image.parent / "rings-circle.csv")
                await pilot.press("enter")
                await tui.settle(app, pilot)
                written = ring_image.parent / f"rings-circle.v{version}.csv"
                assert written.is_file()
            link = ring_image.parent / "rings-circle.csv"
            assert link.resolve() == written.resolve()
            assert app.session.outputs["circle_history"] == str(link)
            lines = [ln for ln in link.read_text().splitlines() if ln and not ln.startswith("#")]
            assert len(lines) == fit["iterations"] + 1  # header + one row per iteration

    asyncio.run(go())


def test_find_ring_reports_progress_and_esc_cancels_it(tui, ring_image):
    """The search is a job: its stages reach the job record; esc while it runs stops it at its next
    report, with no result kept."""

    async def go():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            await pilot.press("a")
            await tui.settle(app, pilot)
            done = app.jobs.finished[0]
            assert done.status == "done" and done.progress.stage == "done"  # fit_ring's last report
            app.session.circle_result = None
            # what a and esc do, in one tick of the event loop: keys are too slow to catch the
            # search (0.1 s) on a cached image; the job stops at its first or its second report
            app.screen.action_find_ring()
            app.action_escape()
            await tui.settle(app, pilot)
            cancelled = app.jobs.finished[0]
            assert cancelled.name == "Find ring" and cancelled.status == "cancelled", cancelled.message
            assert app.session.circle_result is None

    asyncio.run(go())


def test_typed_fields_survive_a_killed_terminal(tui, ring_image, tmp_path):
    """Every keystroke is autosaved: the session file as a killed terminal leaves it reopens the
    screen with the fields as typed, the box checked and the fit with its scale."""
    import shutil

    from calterm.tui.session import session_path

    snapshot = tmp_path / "killed-session.json"
    typed = {"wavelength": "0.8", "distance": "1000", "pixel_size": "100", "fixed_center": f"{CENTER[0]},{CENTER[1]}"}

    async def work():
        app = tui.open_app([str(ring_image)])
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_circle_screen(tui, app, pilot)
            await pilot.click("#circle-fixed")
            await pilot.click("#--content-tab-circle-tab-scale")
            for key, text in typed.items():
                await _type(pilot, app, f"#circle-f-{key}", text)
            app.screen.query_one("#circle-preview").focus()
            await pilot.press("a")
            await tui.settle(app, pilot)
            assert app.session.circle_result is not None, _why(app)
            await pilot.pause(0.6)  # the debounced save
            shutil.copy(session_path(), snapshot)
            return app.session.circle_result

    fit = asyncio.run(work())

    async def resume():
        app = tui.open_app(["--resume", "--session", str(snapshot)])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.current_mode == "circle"
            for key, text in typed.items():
                assert app.screen.query_one(f"#circle-f-{key}").value == text
            assert app.screen.query_one("#circle-fixed").value is True
            assert app.session.circle_result["radius"] == fit["radius"]
            d = calibrate_by_parameters(fit["radius"], 0.8, 1000.0, 100.0).d_spacing_nm * 10
            assert f"d {d:.4f} Å" in tui.screen_text(app)

    asyncio.run(resume())


def test_the_calibrant_ring_a_distance_assumes_is_said_and_another_is_named_by_its_d(tui, ring_image):
    """With a calibrant on screen 1 and no scale typed, the distance shown is the one that holds if
    the ring is the calibrant's ring 1 (the CLI's choice): one ring cannot say which it is. Here the
    most prominent ring is the 40 Å one, not AgBh's first (58.38 Å): the line said "(AgBh ring 1)"
    as if known (main); it now says the assumption and which field names another ring, and d typed
    there gives the true distance."""

    async def go():
        app = tui.open_app([str(ring_image), "--calibrant", "AgBh"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            app.update_request(pixel_size_um=100.0, wavelength_m=0.8e-10)
            await _open_circle_screen(tui, app, pilot)
            await pilot.press("a")
            await tui.settle(app, pilot)
            fit = app.session.circle_result
            assert fit is not None, _why(app)
            assert fit["radius"] == pytest.approx(R_OUTER, abs=TOL_PX)
            await pilot.click("#--content-tab-circle-tab-scale")
            await pilot.pause(0.2)
            text = tui.screen_text(app)  # the side panel's line wraps beside the image
            shown = re.search(r"distance ([0-9.]+) mm if AgBh ring 1\s", text)
            assert shown and "another ring: type its d Å" in text, text
            assumed = distance_mm(fit["radius"], 5.838, 0.8, 100.0)  # AgBh ring 1's d, in nm
            assert float(shown[1]) == pytest.approx(assumed, abs=0.05)
            assert abs(float(shown[1]) - CASE.distance_mm) > 100  # wrong for this ring, as said
            await _type(pilot, app, "#circle-f-d_spacing_A", "40")
            await pilot.pause(0.2)
            dist = re.search(r"distance ([0-9.]+) ± ([0-9.]+) mm", tui.screen_text(app))
            assert dist, tui.screen_text(app)
            assert float(dist[1]) == pytest.approx(CASE.distance_mm, rel=TOL_PX / R_OUTER)

    asyncio.run(go())
