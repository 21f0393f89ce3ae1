"""The joint and series screens in the app's one unit system (issue 15, item 5), at 80x24: a real
run of each (small synthetic images, the engine unmocked), then ``u`` shows every length and angle
in PONI units (m, rad) and ``u`` again brings back mm / mrad / Å. Values typed in PONI units are
read exactly (0.0002 m of jump is the parser's 0.2 mm) and a toggle never changes what was typed.
The header's λ follows the toggle and is never cut at 80 columns."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from textual import events

from calterm.core.common.geometry import PoniGeometry
from calterm.core.simulate.powder import SyntheticCase
from calterm.core.simulate.series import distance_series, drift_series

JOINT_WAVELENGTH = 0.2e-10
JOINT = SyntheticCase(None, "LaB6", PoniGeometry(0.2, 0.05, 0.052, 0.01, -0.006, 0.0, JOINT_WAVELENGTH),
                      shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=11)
DRIFT = SyntheticCase(None, "LaB6", PoniGeometry(0.2, 0.05, 0.052, 0.01, -0.006, 0.0, 0.3e-10),
                      shape=(400, 400), pixel_size_um=250.0, peak_intensity=3000.0, seed=21)


async def _go_to(app, pilot, tui, mode: str) -> None:
    await tui.settle(app, pilot)
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*f"go to {mode}")
    await pilot.pause(0.5)
    await pilot.press("enter")
    await tui.settle(app, pilot)
    assert app.current_mode == mode


async def _toggle(app, pilot, units: str) -> None:
    app.set_focus(None)  # u is a key of the app: not typed into a field
    await pilot.press("u")
    await pilot.pause(0.3)
    assert app.session.units == units


def _header(app) -> str:
    """The session line (the top line), as shown at 80 columns."""
    from textual.geometry import Region

    from calterm.tui.widgets.session_bar import SessionBar

    bar = app.screen.query_one(SessionBar)
    assert bar.size.width == 80
    return bar.render_lines(Region(0, 0, bar.size.width, 1))[0].text.rstrip()


def _label(screen, key: str) -> str:
    return str(screen.query_one(f"#label-{key}").render())


def _headers(table) -> list[str]:
    return [str(c.label) for c in table.columns.values()]


def _row(table, k: int) -> list[str]:
    return [str(c) for c in table.get_row_at(k)]


def test_joint_results_and_fields_follow_the_unit_toggle(tui, isolated_home):
    folder = isolated_home / "joint"
    folder.mkdir()
    series = distance_series(JOINT, [0.0, 0.1, 0.2], folder)

    async def go():
        app = tui.open_app([str(series[0][0]), "--calibrant", "LaB6", "--wavelength",
                            f"{JOINT_WAVELENGTH * 1.003e10:.6f}", "--pixel-size", "250"])
        async with app.run_test(size=(80, 24)) as pilot:
            await _go_to(app, pilot, tui, "joint")
            screen = app.screen
            screen.query_one("#f-add").focus()
            await pilot.press(*"joint/dist_*.tif", "enter")
            await pilot.pause(0.2)
            assert len(screen.images) == 3
            screen.query_one("#f-travel").focus()
            await pilot.press(*"0,100,200")
            screen.query_one("#j-distance").focus()
            await pilot.press(*"200")
            screen.modes["dist"] = "linked"
            app.set_focus(None)
            await pilot.press("r")
            await tui.settle(app, pilot)
            result = screen.result
            assert result is not None and result.ok and result.wavelength_refined, app.jobs.finished[-1].message
            lam, lam_sigma = result.wavelength_m, result.sigma["wavelength"]
            l0, l0_sigma = result.values["L0"], result.sigma["L0"]
            table = screen.query_one("#joint-results")

            def shows_mm() -> None:
                text = tui.screen_text(app)
                assert f"λ {lam * 1e10:.6f} ± {lam_sigma * 1e10:.6f} Å (refined)" in text
                assert f"L0 {l0 * 1e3:.4f} ± {l0_sigma * 1e3:.4f} mm" in text
                assert _headers(table)[2:] == ["dist mm", "x px", "y px", "rot1 mrad", "rot2 mrad", "rot3 mrad",
                                               "RMS mrad"]
                for k, f in enumerate(result.images):
                    g = f.geometry
                    x, y = g.beam_center_px(f.own.detector)
                    assert _row(table, k)[2:] == [f"{g.dist * 1e3:.4f}", f"{x:.2f}", f"{y:.2f}", f"{g.rot1 * 1e3:+.3f}",
                                                  f"{g.rot2 * 1e3:+.3f}", f"{g.rot3 * 1e3:+.3f}",
                                                  f"{math.radians(f.rms_2th_deg) * 1e3:.4f}"]
                assert screen.query_one("#f-travel").value == "0,100,200"
                assert screen.query_one("#f-wavelength").value == f"{JOINT_WAVELENGTH * 1.003e10:.6g}"
                assert _label(screen, "wavelength") == "Wavelength Å" and _label(screen, "pixel_size") == "Pixel µm"
                assert _headers(screen.query_one("#joint-images"))[3] == "dist mm"

            shows_mm()
            await _toggle(app, pilot, "poni")  # metres and radians, from the same result: no new fit
            assert screen.result is result and len(app.jobs.finished) == 1
            text = tui.screen_text(app)
            assert f"λ {lam:.6e} ± {lam_sigma:.2e} m (refined)" in text
            assert f"L0 {l0:.7f} ± {l0_sigma:.7f} m" in text
            assert abs(float(f"{l0:.7f}") - 0.2) < 20e-6  # the number shown is the truth's, in metres
            assert _headers(table)[2:] == ["dist m", "x px", "y px", "rot1 rad", "rot2 rad", "rot3 rad", "RMS rad"]
            for k, f in enumerate(result.images):
                g = f.geometry
                x, y = g.beam_center_px(f.own.detector)
                assert _row(table, k)[2:] == [f"{g.dist:.7f}", f"{x:.2f}", f"{y:.2f}", f"{g.rot1:+.6f}",
                                              f"{g.rot2:+.6f}", f"{g.rot3:+.6f}",
                                              f"{math.radians(f.rms_2th_deg):.7f}"]
            # the fields: shown in metres, labelled so, read back as the parser's Å, µm and mm exactly
            assert screen.query_one("#f-travel").value == "0,0.1,0.2"
            assert screen.query_one("#f-travel").placeholder == "m per image (0,0.1,...) or header"
            assert screen.query_one("#f-wavelength").value == "2.006e-11"  # 0.2006 Å
            assert _label(screen, "wavelength") == "Wavelength m" and _label(screen, "pixel_size") == "Pixel m"
            assert screen.query_one("#f-pixel_size").value == "0.00025"
            assert str(screen.query_one("#j-distance-label").render()) == " Distance m"
            assert screen.query_one("#j-distance").value == "0.2"
            assert _headers(screen.query_one("#joint-images"))[3] == "dist m"
            assert _row(screen.query_one("#joint-images"), 0)[3] == "0.2"
            values = screen.values()
            assert (values["travel"], values["pixel_size"]) == ("0,100,200", "250")
            assert float(values["wavelength"]) == float(f"{JOINT_WAVELENGTH * 1.003e10:.6f}")
            await _toggle(app, pilot, "mm")  # and back, as before the toggles
            shows_mm()
            await _toggle(app, pilot, "poni")
            distance = screen.query_one("#j-distance")
            distance.value = "0.41025"  # a start distance typed in metres: kept in mm, exactly
            await pilot.pause(0.1)
            assert screen.images[0]["distance"] == "410.25"
            assert _row(screen.query_one("#joint-images"), 0)[3] == "0.41025"
            await _toggle(app, pilot, "mm")
            assert distance.value == "410.25" and _row(screen.query_one("#joint-images"), 0)[3] == "410.25"
            # the typed distance made the report stale (the session dropped it): the toggle shows no old fit
            assert "no joint fit yet" in tui.screen_text(app)
            await pilot.press("ctrl+q")

    asyncio.run(go())


@pytest.fixture
def drift(isolated_home):
    folder = isolated_home / "run"
    folder.mkdir()
    return drift_series(DRIFT, 3, folder, {"dist": 20e-6}, {})


def test_series_table_plot_and_fields_follow_the_unit_toggle(tui, drift):
    async def go():
        app = tui.open_app([str(drift[0][0]), "--calibrant", "LaB6", "--wavelength", "0.3", "--pixel-size", "250"])
        async with app.run_test(size=(80, 24)) as pilot:
            await _go_to(app, pilot, tui, "series")
            screen = app.screen
            assert "LaB6  λ 0.3000 Å" in _header(app)
            await _toggle(app, pilot, "poni")
            # the header's λ in metres, as a PONI file holds it, whole at 80 columns
            assert _header(app).endswith("LaB6  λ 3.0000e-11 m")
            assert _label(screen, "jump_mm") == "Jump m" and _label(screen, "wavelength") == "Wavelength m"
            assert screen.query_one("#f-jump_mm").value == "0.0001"  # the default 0.1 mm
            assert screen.query_one("#f-wavelength").value == "3e-11"
            screen.query_one("#f-jump_mm").value = "0.0002"  # 0.2 mm, typed in metres
            await pilot.pause(0.1)
            assert screen.state["inputs"]["jump_mm"] == "0.2"
            assert screen._inputs()[3].jump_mm == 0.2  # what the run is given: the parser's mm, exactly
            app.set_focus(None)
            app.post_message(events.Key("r", "r"))  # run in PONI units
            for _ in range(600):
                await pilot.pause(0.05)
                if screen.result is not None:
                    break
            await tui.settle(app, pilot)
            result = screen.result
            assert result is not None and len(result.rows) == 3, app.jobs.finished[-1].message
            table, plot = screen.query_one("#series-table"), screen.query_one("#series-plot")

            def shows_poni() -> None:
                assert _headers(table)[3:10] == ["dist m", "x px", "y px", "rot1 rad", "rot2 rad", "rot3 rad", "RMS rad"]
                for k, row in enumerate(result.rows):
                    assert _row(table, k)[3:10] == [f"{row.dist_mm / 1e3:.7f}", f"{row.center_x:.2f}",
                                                    f"{row.center_y:.2f}", f"{row.rot1:+.6f}", f"{row.rot2:+.6f}",
                                                    f"{row.rot3:+.6f}", f"{math.radians(row.rms_2th_deg):.7f}"]
                assert plot.series == "dist_mm" and plot.unit() == "m"
                assert np.allclose(plot.values()[1], [r.dist_mm / 1e3 for r in result.rows], rtol=1e-12, atol=0)

            shows_poni()
            for row, (_, truth) in zip(result.rows, drift, strict=True):
                assert abs(float(f"{row.dist_mm / 1e3:.7f}") - truth.dist) < 10e-6  # metres shown, the truth's
            await pilot.press("v")  # the plot: its title names the unit
            await pilot.pause(0.3)
            assert "distance (m) by image" in tui.screen_text(app)
            await _toggle(app, pilot, "mm")
            assert "distance (mm) by image" in tui.screen_text(app)
            assert plot.unit() == "mm" and np.allclose(plot.values()[1], [r.dist_mm for r in result.rows])
            await pilot.press("p", "p", "p")  # rot1: mrad
            await pilot.pause(0.3)
            assert plot.series == "rot1" and plot.unit() == "mrad"
            assert np.allclose(plot.values()[1], [r.rot1 * 1e3 for r in result.rows])
            assert "rot1 (mrad) by image" in tui.screen_text(app)
            await pilot.press("v")
            await pilot.pause(0.2)
            assert _headers(table)[3:10] == ["dist mm", "x px", "y px", "rot1 mrad", "rot2 mrad", "rot3 mrad", "RMS mrad"]
            for k, row in enumerate(result.rows):
                assert _row(table, k)[3:10] == [f"{row.dist_mm:.4f}", f"{row.center_x:.2f}", f"{row.center_y:.2f}",
                                                f"{row.rot1 * 1e3:+.3f}", f"{row.rot2 * 1e3:+.3f}",
                                                f"{row.rot3 * 1e3:+.3f}", f"{math.radians(row.rms_2th_deg) * 1e3:.4f}"]
            assert screen.query_one("#f-jump_mm").value == "0.2" and _label(screen, "jump_mm") == "Jump mm"
            assert screen.query_one("#f-wavelength").value == "0.3"
            assert _header(app).endswith("LaB6  λ 0.3000 Å")
            await pilot.press("p", "p", "p", "p")  # back to the distance, then PONI units once more
            await _toggle(app, pilot, "poni")
            shows_poni()
            assert screen.query_one("#f-jump_mm").value == "0.0002"
            await pilot.press("ctrl+q")

    asyncio.run(go())
