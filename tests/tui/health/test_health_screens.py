"""Detector-health screens from the keyboard: dark statistics -> written images -> mask with known
counts -> written mask; panel alignment recovers known quadrant displacements; inputs survive a resume."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import numpy as np
import pytest

from calterm.core.io.images import read_array
from calterm.tui.session import session_path

N = 128
HOT, DEAD = 10, 7  # pixels whose average is above 2000, pixels that never change (std 0)


def dark_run(folder, pedestal_range=(400, 900)):
    """Six frames: pedestal + noise, ``HOT`` hot pixels, ``DEAD`` constant pixels; the float64 truth."""
    import tifffile

    rng = np.random.default_rng(5)
    pedestal = rng.uniform(*pedestal_range, (N, N))
    frames = pedestal + rng.uniform(1, 3, (N, N)) * rng.standard_normal((6, N, N))
    flat = np.arange(N * N)
    rng.shuffle(flat)
    hot, dead = flat[:HOT], flat[HOT:HOT + DEAD]
    frames.reshape(6, -1)[:, hot] += 3000
    frames.reshape(6, -1)[:, dead] = 700
    frames = frames.astype(np.float32)
    folder.mkdir()
    for i, f in enumerate(frames):
        tifffile.imwrite(folder / f"dark_{i}.tif", f)
    return frames.astype(np.float64)


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


def test_dark_then_mask_from_the_keyboard(tui, isolated_home):
    ref = dark_run(isolated_home / "run")

    async def go():
        app = tui.open_app(["--output-dir", str(isolated_home)])  # outputs: cwd, chosen
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await tui.settle(app, pilot)
            assert app.current_mode == "dark" and app.focused is None  # single keys act at once
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            help_text = tui.screen_text(app)
            assert "Compute dark statistics" in help_text and "Go to gain map" in help_text
            await pilot.press("escape")
            await pilot.press("tab")
            assert app.focused.id == "f-files"
            await type_text(pilot, "run/dark_*.tif")
            await pilot.press("enter")  # enter in a field runs
            await tui.settle(app, pilot)
            text = tui.screen_text(app)
            assert "6 frames used, 0 skipped" in text and "frames/s" in text
            assert app.jobs.finished[0].name == "Dark statistics" and app.jobs.finished[0].status == "done"
            # outputs: tab to Average -> (files, lists, workers, sample std, clip, gate, average)
            await pilot.press(*["tab"] * 6)
            assert app.focused.id == "f-average"
            await type_text(pilot, "avg.tif")
            await pilot.press("tab")
            await type_text(pilot, "std.npy")
            await pilot.press("tab")
            await type_text(pilot, "max.edf")
            await pilot.press("escape", "w")
            await tui.settle(app, pilot)
            np.testing.assert_allclose(read_array(isolated_home / "avg.tif")[0], ref.mean(0), rtol=1e-6)
            np.testing.assert_allclose(read_array(isolated_home / "std.npy")[0], ref.std(0), rtol=1e-6, atol=1e-9)
            np.testing.assert_array_equal(read_array(isolated_home / "max.edf")[0], ref.max(0))
            assert (isolated_home / "avg.v0.tif").is_file()

            # the mask screen starts from the written images; default rules: hot and dead pixels
            await pilot.press("8")
            await tui.settle(app, pilot)
            assert app.current_mode == "mask"
            screen = app.screen
            assert screen.result is not None
            counts = screen.result.counts
            assert counts["average_high"] == HOT and counts["std_low"] == DEAD and counts["std_high"] == 0
            assert screen.result.masked == HOT + DEAD
            text = tui.screen_text(app)
            assert f"{HOT + DEAD} of {N * N} masked" in text
            # a rule typed: std <= 2 also masks the noisier pixels (the preview follows the typing)
            await pilot.press(*["tab"] * 7)
            assert app.focused.id == "f-std_max"
            await pilot.press("backspace", "backspace")
            await type_text(pilot, "2")
            await pilot.pause(0.5)
            await tui.settle(app, pilot)
            std = ref.std(0)
            expected = int(((ref.mean(0) > 2000) | (std <= 0) | (std > 2)).sum())
            assert app.screen.result.masked == expected and app.screen.result.counts["std_high"] == int((std > 2).sum())
            assert f"{expected} of {N * N} masked" in tui.screen_text(app)
            # std <= 2 on noise of 1-3 ADU masks about half the detector: over the 20 % limit, refused
            assert expected > 0.2 * N * N and "over the 20 % limit: std_high" in tui.screen_text(app)
            await pilot.press("escape", "w")
            await tui.settle(app, pilot)
            assert not (isolated_home / "mask.edf").exists()
            from textual.widgets import Checkbox

            app.screen.query_one("#f-force", Checkbox).value = True
            await pilot.pause(0.1)
            await pilot.press("w")
            await tui.settle(app, pilot)
            written = read_array(isolated_home / "mask.edf")[0]
            assert written.sum() == expected and written.dtype.kind in "iu"
            await pilot.press("ctrl+q")

        doc = json.loads(session_path().read_text())
        assert doc["tools"]["dark"]["inputs"]["files"] == "run/dark_*.tif"
        assert doc["tools"]["mask"]["inputs"]["std_max"] == "2"
        assert doc["tools"]["mask"]["report"]["masked"] == expected

        again = tui.open_app(["--resume"])
        async with again.run_test(size=(80, 24)) as pilot:
            await tui.settle(again, pilot)
            await pilot.press("8")
            await tui.settle(again, pilot)
            assert again.screen.query_one("#f-std_max").value == "2"
            assert again.screen.result.masked == expected  # rebuilt from the restored inputs
            await pilot.press("7")
            await tui.settle(again, pilot)
            assert again.screen.query_one("#f-files").value == "run/dark_*.tif"
            assert "6 frames used" in tui.screen_text(again)

    asyncio.run(go())


SHIFTS = {"top-left": (6.3, 1.2), "top-right": (-9.6, -2.8), "bottom-right": (2.45, -5.7), "bottom-left": (0.0, 0.0)}
PIXEL = 100e-6
CENTER = (N - 0.5 + 3.2, N - 0.5 - 4.7)  # of a 256x256 image


def displaced_powder(path):
    """CeO2 rings rendered by pyFAI; each quadrant rendered with its beam centre moved by its shift."""
    import tifffile

    from calterm.core.common.geometry import PoniGeometry
    from calterm.core.common.panel_layouts import quadrants
    from calterm.core.simulate.powder import SyntheticCase, render

    n = 2 * N
    geo = PoniGeometry(dist=0.0384, poni1=(CENTER[1] + 0.5) * PIXEL, poni2=(CENTER[0] + 0.5) * PIXEL,
                       wavelength=0.5e-10)
    case = SyntheticCase(None, "CeO2", geo, shape=(n, n), pixel_size_um=100, peak_intensity=1000,
                         background=20, resolution_deg=0.2, seed=1)
    image = np.zeros((n, n))
    for q in quadrants((n, n)):
        dx, dy = SHIFTS[q.name]
        moved = replace(geo, poni1=geo.poni1 + dy * PIXEL, poni2=geo.poni2 + dx * PIXEL)
        image[q.slices] = render(replace(case, geometry=moved))[0][q.slices]
    tifffile.imwrite(path, image.astype(np.float32))


def test_align_finds_known_quadrant_shifts(tui, isolated_home):
    image = isolated_home / "powder.tif"
    displaced_powder(image)

    async def go():
        app = tui.open_app([str(image), "--center", f"{CENTER[0]},{CENTER[1]}", "--calibrant", "CeO2"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("9")
            await tui.settle(app, pilot)
            screen = app.screen
            assert app.current_mode == "align" and screen.query_one("#f-image").value == str(image)
            assert screen.query_one("#f-center").value == f"{CENTER[0]:.2f},{CENTER[1]:.2f}"
            await pilot.press("tab", "tab", "tab", "backspace", "backspace")
            await type_text(pilot, "14")  # search px
            await pilot.press(*["tab"] * 5)
            assert app.focused.id == "f-offsets"
            await type_text(pilot, "offsets.json")
            await pilot.press("enter")
            await tui.settle(app, pilot, timeout=180)
            result = screen.aligned["result"]
            for p in result.panels:
                assert np.abs(np.subtract(p.shift, SHIFTS[p.name])).max() < 0.3, (p.name, p.shift)
            assert result.cc_after > result.cc_before + 0.1
            text = tui.screen_text(app)
            moved = {p.name: p for p in result.panels}
            assert f"{moved['top-right'].shift[0]:+.2f}" in text and "top-right" in text
            assert f"{result.cc_before:.4f} → {result.cc_after:.4f}" in text
            assert screen.query_one("#align-after").image is not None
            await pilot.press("escape", "w")
            await tui.settle(app, pilot)
            doc = json.loads((isolated_home / "offsets.json").read_text())
            by_name = {p["name"]: p for p in doc["panels"]}
            assert by_name["top-left"]["correction"] == pytest.approx([-s for s in moved["top-left"].shift])
            await pilot.press("ctrl+q")
        saved = json.loads(session_path().read_text())["tools"]["align"]
        assert saved["inputs"]["search"] == "14" and len(saved["report"]["panels"]) == 4

    asyncio.run(go())


def test_dark_write_checks_its_paths_first_and_logs_like_the_cli(tui, isolated_home):
    """A path that cannot be written turns its field red, says so in one line and starts no job
    (the old screen started the job and failed in it); the log records what the CLI records."""
    from calterm.core.io.versions import read_log

    dark_run(isolated_home / "run")
    (isolated_home / "afile").write_text("")

    async def go():
        app = tui.open_app(["--output-dir", str(isolated_home)])  # outputs: cwd, chosen
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await tui.settle(app, pilot)
            screen = app.screen
            screen.set_value("files", "run/dark_*.tif")
            await pilot.press("r")
            await tui.settle(app, pilot)
            assert screen.result is not None and screen.result.frames_used == 6
            jobs = len(app.jobs.finished)
            for bad, words in (("nodir/avg.tif", "does not exist"), ("afile/avg.tif", "afile"),
                               ("avg.png", "unknown image format")):
                screen.set_value("average", bad)
                await pilot.pause(0.1)
                app._notifications.clear()
                await pilot.press("w")
                await tui.settle(app, pilot)
                notes = [n.message for n in app._notifications]
                assert len(notes) == 1 and notes[0].startswith("Average →:") and words in notes[0], notes
                assert screen.query_one("#f-average").has_class("-invalid-value")
                assert len(app.jobs.finished) == jobs  # no write job started
            assert not list(isolated_home.glob("**/avg*"))
            screen.set_value("average", "avg.tif")
            await pilot.press("w")
            await tui.settle(app, pilot)
            assert not screen.query_one("#f-average").has_class("-invalid-value")
            await pilot.press("ctrl+q")
        (record,) = read_log(isolated_home / "avg.tif")
        assert record["command"] == "calterm tui dark --average"
        inputs = record["inputs"]
        assert inputs["n_sources"] == 6 and inputs["frames_used"] == 6 and inputs["frames_skipped"] == 0
        assert inputs["sources"] == [f"run/dark_{i}.tif" for i in range(6)]  # expanded, as typed (relative)

    asyncio.run(go())


def test_mask_screen_from_a_low_offset_dark_masks_what_the_dark_tells_and_refuses_a_runaway_rule(tui, isolated_home):
    """A CCD-like dark (offset 80-200 ADU, below the bright-run threshold of 300): the images the dark
    screen writes give a mask of the hot and dead pixels only (it was every pixel: the dark's max was
    taken for the rule's bright max). A bound that masks most of the detector is shown with its rule
    and written only with Force ticked."""
    from textual.widgets import Checkbox

    dark_run(isolated_home / "run", pedestal_range=(80, 200))

    async def go():
        app = tui.open_app(["--output-dir", str(isolated_home)])  # outputs: cwd, chosen
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await tui.settle(app, pilot)
            screen = app.screen
            screen.set_value("files", "run/dark_*.tif")
            await pilot.press("r")
            await tui.settle(app, pilot)
            for name in ("average", "std", "max"):
                screen.set_value(name, f"{name}.tif")
            await pilot.press("w")
            await tui.settle(app, pilot)
            assert (isolated_home / "max.tif").is_file()
            await pilot.press("8")
            await tui.settle(app, pilot)
            mask = app.screen
            assert mask.result.masked == HOT + DEAD and mask.problem is None
            assert mask.query_one("#f-bright_max").value == ""  # a dark max is not a bright max
            assert mask.result.counts["average_high"] == HOT and mask.result.counts["std_low"] == DEAD
            assert f"{HOT + DEAD} of {N * N} masked" in tui.screen_text(app)
            mask.set_value("average_max", "150")  # below most of this detector's offsets
            await pilot.pause(0.5)
            await tui.settle(app, pilot)
            share = mask.result.shares["average_high"]
            text = " ".join(tui.screen_text(app).split())
            assert share > 0.2 and "over the 20 % limit:" in text and "average_high" in text, text
            app._notifications.clear()
            await pilot.press("w")
            await tui.settle(app, pilot)
            notes = [n.message for n in app._notifications]
            assert len(notes) == 1 and "nothing written" in notes[0] and "average_high" in notes[0], notes
            assert not list(isolated_home.glob("mask*"))
            mask.query_one("#f-force", Checkbox).value = True
            await pilot.pause(0.1)
            await pilot.press("w")
            await tui.settle(app, pilot)
            written = read_array(isolated_home / "mask.edf")[0]
            assert written.sum() == mask.result.masked
            await pilot.press("ctrl+q")

    asyncio.run(go())


def test_dark_screen_counts_nan_frames_it_skipped(tui, isolated_home):
    """A frame of NaN among the run: the app says it was skipped as NaN/Inf, and the mean is of the others."""
    ref = dark_run(isolated_home / "run")
    np.save(isolated_home / "run" / "nan.npy", np.full((1, N, N), np.nan, np.float32))

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await tui.settle(app, pilot)
            screen = app.screen
            screen.set_value("files", "run/dark_*.tif run/nan.npy")
            await pilot.press("r")
            await tui.settle(app, pilot)
            assert screen.result.frames_used == 6 and screen.result.frames_nonfinite == 1
            np.testing.assert_allclose(screen.result.average, ref.mean(0), rtol=1e-6)
            assert "6 frames used, 1 skipped (1 NaN/Inf)" in tui.screen_text(app)
            await pilot.press("ctrl+q")

    asyncio.run(go())
