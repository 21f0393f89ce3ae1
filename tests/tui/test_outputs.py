"""Issue 15 item 8: the app writes its outputs next to the image (or into the output folder the
user chose, shown in the top line), never silently into the working directory it was started in
(untracked files appeared in the clone). Every output path goes through ``Session.output_path``."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pyFAI
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.tui.session import Session, request_key, state_dir
from calterm.tui.session_file import loads, save_session


def _beamline(tmp_path):
    """A data folder away from the working directory (conftest: the cwd is tmp_path itself)."""
    data = tmp_path / "beamline" / "run7"
    data.mkdir(parents=True)
    image = data / "lab6_0001.npy"
    np.save(image, np.ones((1043, 981), np.float32))
    return data, image


def _cwd_files() -> set[str]:
    return {p for p in os.listdir(".") if p not in ("home", "calterm-home", "beamline", "s.json", "out")}


def test_output_path_goes_next_to_the_image_or_into_the_chosen_folder(tmp_path):
    data, image = _beamline(tmp_path)
    s = Session(request=CalibrationRequest(image_path=str(image), calibrant="LaB6", wavelength_m=1e-10))
    assert s.output_path("calib.poni") == str(data / "calib.poni")
    assert s.output_path("sub/mask.edf") == str(data / "sub" / "mask.edf")
    assert s.output_path(str(tmp_path / "x.poni")) == str(tmp_path / "x.poni")  # absolute: as typed
    assert s.output_path("~/x.poni") == os.path.expanduser("~/x.poni")
    assert s.output_path("") == ""
    s.output_dir = str(tmp_path / "out")
    assert s.output_path("calib.poni") == str(tmp_path / "out" / "calib.poni")
    assert loads(save_session(s, tmp_path / "s.json").read_text()).output_dir == s.output_dir  # resumed alike
    s.output_dir = ""
    data.chmod(0o555)  # a read-only data folder (beamline raw data): the state folder, not the cwd
    try:
        if not os.access(data, os.W_OK):  # root writes anyway
            assert s.output_path("calib.poni") == str(state_dir() / "outputs" / "calib.poni")
    finally:
        data.chmod(0o755)
    preparing = Session(request=CalibrationRequest(image_path="", calibrant="LaB6", wavelength_m=1e-10), demo=True)
    assert preparing.output_path("demo.poni") == str(state_dir() / "outputs" / "demo.poni")
    demo = Session(request=CalibrationRequest(image_path=str(image), calibrant="LaB6", wavelength_m=1e-10), demo=True)
    assert demo.output_path("demo.poni") == str(state_dir() / "outputs" / "demo.poni")  # not into the cache
    assert (state_dir() / "outputs").is_dir()


def _resumable(tmp_path, image) -> str:
    from tests.tui.test_session import _result

    request = CalibrationRequest(image_path=str(image), calibrant="LaB6", wavelength_m=0.3344e-10,
                                 detector="Pilatus1M")
    s = Session(request=request, screen="results")
    s.set_result(_result(), request_key(request))
    return str(save_session(s, tmp_path / "s.json"))


def test_save_poni_and_history_land_next_to_the_image_not_in_the_cwd(tui, tmp_path):
    data, image = _beamline(tmp_path)
    path = _resumable(tmp_path, image)
    shown: list[str] = []

    async def go():
        app = tui.open_app(["--resume", "--session", path])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert app.current_mode == "results"
            shown.append(tui.screen_text(app))
            await pilot.press("s")
            await pilot.pause(0.2)
            assert app.screen.query_one("#answer").value == str(data / "lab6_0001.poni")
            await pilot.press("enter")
            await tui.settle(app, pilot)
            await pilot.press("e")
            await pilot.pause(0.2)
            assert app.screen.query_one("#answer").value == str(data / "lab6_0001-history.csv")
            await pilot.press("ctrl+u", *"hist.csv", "enter")  # a bare name typed: next to the image too
            await tui.settle(app, pilot)

    asyncio.run(go())
    assert pyFAI.load(str(data / "lab6_0001.poni")).dist == 0.18000001234
    assert (data / "hist.csv").read_text().startswith("#") or (data / "hist.csv").stat().st_size > 0
    assert _cwd_files() == set(), _cwd_files()
    assert "outputs → …/beamline/run7" in shown[0]  # where outputs go, on screen at 80x24


@pytest.mark.parametrize("chosen", [False, True], ids=["next-to-image", "output-dir"])
def test_a_tool_screens_bare_output_name_lands_in_the_output_folder(tui, tmp_path, chosen):
    data, image = _beamline(tmp_path)
    darks = data / "darks"
    darks.mkdir()
    for i in range(3):
        np.save(darks / f"dark_{i}.npy", np.full((16, 16), 10.0 + i, np.float32))
    out = tmp_path / "out" if chosen else data
    out.mkdir(exist_ok=True)

    async def go():
        app = tui.open_app([str(image), "--detector", "Pilatus1M", *(["--output-dir", str(out)] if chosen else [])])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert not chosen or app.session.output_folder() == out
            await pilot.press("7")
            await pilot.pause(0.3)
            app.screen.set_value("files", str(darks / "dark_*.npy"))
            app.screen.set_value("average", "avg.edf")  # a bare name, as a user types it
            await pilot.pause(0.1)
            app.screen.set_focus(None)
            await pilot.press("r")
            await tui.settle(app, pilot)
            await pilot.press("w")
            await tui.settle(app, pilot)

    asyncio.run(go())
    import fabio

    assert fabio.open(str(out / "avg.edf")).data.mean() == 11.0
    assert _cwd_files() == set(), _cwd_files()


def test_the_output_folder_is_chosen_in_the_app_with_completion(tui, tmp_path):
    data, image = _beamline(tmp_path)
    (tmp_path / "processed").mkdir()
    (tmp_path / "processed.txt").write_text("")  # a file of the same prefix: not a folder, not offered

    async def go():
        app = tui.open_app([str(image), "--detector", "Pilatus1M"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await app.run_action("app.output_folder")
            await pilot.pause(0.2)
            await pilot.press(*f"{tmp_path}/proc", "tab")
            assert app.screen.query_one("#answer").value == f"{tmp_path}/processed/"
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.session.output_folder() == tmp_path / "processed"
            assert app.session.output_path("calib.poni") == str(tmp_path / "processed" / "calib.poni")
            await pilot.pause(0.2)
            assert "outputs → " in tui.screen_text(app) and "processed" in tui.screen_text(app)
            await app.run_action("app.output_folder")  # empty: back to next to the image
            await pilot.pause(0.2)
            await pilot.press("ctrl+u", "enter")
            await pilot.pause(0.2)
            assert app.session.output_folder() == data

    asyncio.run(go())
