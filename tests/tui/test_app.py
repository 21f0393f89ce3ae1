"""The shell: demo start, screen switching by number, help, command palette, themes, quit."""

from __future__ import annotations

import asyncio
import json
import os

from calterm.tui.commands import COMMANDS
from calterm.tui.session import session_path
from calterm.tui.session_file import load_prefs

MODES = ("parameters", "points", "refinement", "jobs", "results", "circle")


def test_demo_opens_with_start_values_and_numbers_switch_screens(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            r = app.session.request
            assert r.image_path.endswith(".tif") and os.path.isfile(r.image_path)
            assert r.calibrant == "LaB6" and r.distance_mm and r.center_xy
            assert app.current_mode == "parameters"
            assert "Distance mm" in tui.screen_text(app)
            for i, mode in enumerate(MODES, 1):
                await pilot.press(str(i))
                await pilot.pause(0.1)
                assert app.current_mode == mode
            await tui.settle(app, pilot)
            doc = json.loads(session_path().read_text())
            assert doc["screen"] == "circle" and doc["request"]["image_path"] == r.image_path
            await pilot.press("ctrl+q")
        assert app.return_code == 0

    asyncio.run(go())


def test_help_lists_keys_and_palette_has_every_action(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            assert type(app.screen).__name__ == "HelpScreen"
            assert "Calibrate" in tui.screen_text(app)
            await pilot.press("escape")
            await pilot.press("f1")
            await pilot.pause(0.2)
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert {c.title for c in COMMANDS} <= titles
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            assert type(app.screen).__name__ == "CommandPalette"
            await pilot.press(*"go to refinement")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await tui.settle(app, pilot)
            assert app.current_mode == "refinement"

    asyncio.run(go())


def test_themes_are_shipped_chosen_and_remembered(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            assert {"calterm-dark", "calterm-light", "calterm-contrast"} <= set(app.available_themes)
            assert app.theme == "calterm-dark"
            app.theme = "calterm-contrast"
            await pilot.pause(0.2)
        assert load_prefs()["theme"] == "calterm-contrast"
        again = tui.open_app()
        async with again.run_test(size=(80, 24)) as pilot:
            await tui.settle(again, pilot)
            assert again.theme == "calterm-contrast"

    asyncio.run(go())


def test_contrast_theme_uses_only_the_16_colour_palette():
    from calterm.tui.themes import load_themes

    ansi = {"#000000", "#800000", "#008000", "#808000", "#000080", "#800080", "#008080", "#C0C0C0",
            "#808080", "#FF0000", "#00FF00", "#FFFF00", "#0000FF", "#FF00FF", "#00FFFF", "#FFFFFF"}
    theme = {t.name: t for t in load_themes()}["calterm-contrast"]
    for name in ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "error",
                 "warning", "success"):
        assert getattr(theme, name).upper() in ansi, name
