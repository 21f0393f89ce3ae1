"""Issue 15 item 8: ctrl+o opens a file browser filtered to the images calterm reads, whose path
field completes like a shell (Tab: common prefix, the candidates listed), and which shows the
header facts of the highlighted file, read in a worker. Real files written with fabio and numpy."""

from __future__ import annotations

import asyncio
import os
import time

import fabio
import numpy as np
from textual.widgets import Static


def _folder(tmp_path):
    data = tmp_path / "run7"
    (data / "sub").mkdir(parents=True)
    header = {"WaveLength": "3.344e-11", "SampleDistance": "0.18", "PSize_1": "1e-4", "PSize_2": "1e-4",
              "Center_1": "30.5", "Center_2": "20.25", "DetectorName": "Frelon"}
    fabio.edfimage.EdfImage(data=np.arange(48 * 64, dtype=np.uint16).reshape(48, 64), header=header).write(
        str(data / "LaB6_0001.edf"))
    np.save(data / "LaB6_dark.npy", np.zeros((48, 64), np.float32))
    np.save(data / "CeO2.npy", np.zeros((8, 8), np.int32))
    (data / "notes.txt").write_text("not an image\n")
    (data / ".hidden.edf").write_bytes(b"")
    return data


def test_tab_completes_like_a_shell(tmp_path):
    from calterm.tui.screens.file_browser import is_image_name
    from calterm.tui.widgets.path_input import complete_path

    data = _folder(tmp_path)
    common = complete_path(f"{data}/La", is_image_name)
    assert common.text == f"{data}/LaB6_" and common.candidates == ("LaB6_0001.edf", "LaB6_dark.npy")
    assert complete_path(f"{data}/C", is_image_name).text == f"{data}/CeO2.npy"  # one match: in full
    assert complete_path(f"{data}/s", is_image_name).text == f"{data}/sub/"  # a folder gains /
    assert complete_path(f"{data}/n", is_image_name).candidates == ()  # notes.txt is not an image
    everything = complete_path(f"{data}/", is_image_name).candidates
    assert ".hidden.edf" not in everything and "notes.txt" not in everything
    assert complete_path(f"{data}/", dirs_only=True).candidates == ("sub/",)


def test_file_names_calterm_reads():
    from calterm.tui.screens.file_browser import is_image_name

    for name in ("a.cbf", "a.edf.gz", "a.mar3450", "a.tif", "a.h5", "a.nxs", "a.npy", "a.img", "a.0001", "a.SPE"):
        assert is_image_name(name), name
    for name in ("a.txt", "a.poni", "a.csv", "a.log", "a.json", "a.py"):
        assert not is_image_name(name), name


def test_ctrl_o_browses_completes_and_shows_header_facts(tui, tmp_path):
    data = _folder(tmp_path)
    start = data / "CeO2.npy"

    async def go():
        app = tui.open_app([str(start), "--detector", "Pilatus100k"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("ctrl+o")
            await pilot.pause(0.3)
            from calterm.tui.screens.file_browser import FileBrowser, ImageTree

            browser = app.screen
            assert isinstance(browser, FileBrowser)  # main: a bare one-line prompt
            tree = browser.query_one(ImageTree)
            await _until(pilot, lambda: len(tree.root.children) >= 4)
            shown = sorted(str(node.label) for node in tree.root.children)
            assert shown == ["CeO2.npy", "LaB6_0001.edf", "LaB6_dark.npy", "sub"]  # no .txt, no hidden

            await pilot.press("ctrl+u", *f"{data}/La", "tab")
            field = browser.query_one("#answer")
            assert field.value == f"{data}/LaB6_"
            assert "LaB6_0001.edf" in str(browser.query_one("#candidates", Static).visual)
            await pilot.press("0", "tab")
            assert field.value == f"{data}/LaB6_0001.edf"
            facts = browser.query_one("#facts", Static)
            await _until(pilot, lambda: "px" in str(facts.visual))
            text = str(facts.visual)
            assert "64 x 48 px" in text and "uint16" in text, text
            assert "detector Frelon" in text and "λ 0.3344 Å" in text and "distance 180 mm" in text, text
            assert all(len(line.strip()) <= 80 for line in tui.screen_text(app).splitlines())  # (the SVG indents lines)

            await pilot.press("enter")
            await tui.settle(app, pilot)
            assert app.session.request.image_path == str(data / "LaB6_0001.edf")

    asyncio.run(go())


def test_browsing_the_tree_shows_facts_off_the_event_loop(tui, tmp_path):
    data = _folder(tmp_path)

    async def go():
        app = tui.open_app([str(data / "CeO2.npy"), "--detector", "Pilatus100k"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("ctrl+o")
            await pilot.pause(0.3)
            browser = app.screen
            from calterm.tui.screens.file_browser import ImageTree

            tree = browser.query_one(ImageTree)
            await _until(pilot, lambda: len(tree.root.children) >= 4)
            await pilot.press("down")  # from the field into the list
            assert app.focused is tree
            facts = browser.query_one("#facts", Static)
            seen = set()
            for _ in range(4):
                await pilot.press("down")
                await _until(pilot, lambda: "reading" not in str(facts.visual))
                seen.add(str(facts.visual).split(":", 1)[0])
            assert {"CeO2.npy", "LaB6_0001.edf", "LaB6_dark.npy"} <= seen
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert app.session.request.image_path == str(data / "CeO2.npy")  # esc: nothing opened

    asyncio.run(go())


async def _until(pilot, ready, timeout: float = 60.0, what=lambda: "") -> None:
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise TimeoutError(f"not ready: {what()}")
        await pilot.pause(0.05)


def test_the_real_data_folder_offers_its_four_images_with_their_headers(tui, realdata):
    """On real beamline files: the header texts (.hdr, .cts, FLICAM_AgBeh) and README are not offered;
    the mar345 image's header facts are shown as its header states them (README: 1200x1200 uint32)."""
    from calterm.tui.screens.file_browser import ImageTree

    start = realdata / "agbe_60sec_006.mar1200"

    async def go():
        app = tui.open_app([str(start), "--calibrant", "AgBh"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("ctrl+o")
            browser = app.screen
            tree = browser.query_one(ImageTree)
            await _until(pilot, lambda: len(tree.root.children) >= 4, what=lambda: [str(n.label) for n in tree.root.children])
            await pilot.pause(0.2)
            assert sorted(str(n.label) for n in tree.root.children) == [
                "AgBe_Quantum.img", "CeO2_PI_CCD_Mo.SPE", "FLICAM_AgBeh_001_c.tif", "agbe_60sec_006.mar1200"]
            facts = browser.query_one("#facts", Static)  # the field holds the current image: its facts
            await _until(pilot, lambda: "px" in str(facts.visual), what=lambda: str(facts.visual))
            # the tree's own first highlight arriving late (a busy machine: CI saw it) keeps the facts
            from textual.widgets import DirectoryTree

            tree.post_message(DirectoryTree.NodeHighlighted(tree.root))
            await pilot.pause(0.3)
            text = str(facts.visual)
            assert "1200 x 1200 px" in text and "uint32" in text and "detector mar345" in text, text
            assert "λ 1.5418 Å" in text and "distance 400 mm" in text and "pixel 150 µm" in text, text
            if not os.access(realdata, os.W_OK):  # read-only data (root writes anyway): the state folder
                assert app.session.output_folder().name == "outputs"

    asyncio.run(go())
