"""Orientation (issue 15 items 4 and 6): every screen named in the tab bar at 80 columns, the
wavelength never cut from the header, `?` listing every key and sub-tab, checkboxes that read
without colour."""

from __future__ import annotations

import asyncio

from calterm.tui.app import SCREENS
from calterm.tui.widgets.tab_bar import screen_key, screen_labels, tab_text


def bar_line(app) -> str:
    from calterm.tui.widgets.tab_bar import TabBar

    return app.screen.query_one(TabBar).render().plain  # type: ignore[union-attr]


def test_every_screen_is_named_in_the_tab_bar_at_80_columns(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            for key in ("1", "3", "0"):
                await pilot.press(key)
                await pilot.pause(0.3)
                text = tui.screen_text(app)
                for i, mode in enumerate(SCREENS):
                    assert any(f"{screen_key(i)}{label}" in text for label in screen_labels(mode)), (mode, text)
            await tui.settle(app, pilot)

    asyncio.run(go())


def test_twelve_screens_still_fit_80_columns_and_the_ones_past_0_have_no_digit():
    modes = [*SCREENS, "joint", "series"]
    for current in modes:
        text = tab_text(modes, current, 80)
        assert text.cell_len <= 80
        plain = text.plain
        for i, mode in enumerate(modes):
            assert any(f" {screen_key(i)}{label}" in plain for label in screen_labels(mode)), (mode, plain)
    assert screen_key(10) == "" and screen_key(9) == "0"


def test_the_header_never_cuts_the_wavelength(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            r = app.session.request
            app.update_request(detector="a_detector_with_a_very_long_name_indeed_for_the_header",
                               calibrant="LaB6")
            await pilot.pause(0.3)
            head = tui.screen_text(app)
            assert f"λ {r.wavelength_m * 1e10:.4f} Å" in head and "LaB6" in head  # main: "LaB6 0.33…"

    asyncio.run(go())


def test_help_lists_every_key_and_the_results_sub_tabs_in_one_scrollable_list(tui):
    from textual.widgets import DataTable

    from calterm.tui.commands import COMMANDS

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("5")
            await tui.settle(app, pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            table = app.screen.query_one(DataTable)
            rows = [" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
            text = "\n".join(rows)
            for tab in ("Geometry", "Rings", "Points", "History", "Plots"):
                assert f"| {tab}" in text, tab
            for c in COMMANDS:
                if c.key and c.mode in (None, "results"):
                    assert f"{c.key} | {c.title}" in text, c.title
            assert "ctrl+pagedown" in text and "alt+1-9, alt+0" in text
            assert table.size.height >= 18  # fills the terminal, not a 22-row box inside 24 rows
            assert table.max_scroll_y > 0
            await pilot.press("ctrl+end")
            await pilot.pause(0.5)
            assert table.scroll_y == table.max_scroll_y  # the last rows are reached by keys
            await pilot.press("escape")

    asyncio.run(go())


def test_checkboxes_read_checked_and_unchecked_without_colour(tui):
    from calterm.tui.widgets.checkbox import Checkbox

    async def go():
        app = tui.open_app(["--theme", "calterm-contrast"])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("3")
            await tui.settle(app, pilot)
            fixed = app.session.request.constraints.fixed
            for name in ("dist", "rot3"):
                box = app.screen.query_one(f"#fix-{name}", Checkbox)
                assert isinstance(box, Checkbox)
                assert box.render().plain.startswith("[x]" if name in fixed else "[ ]"), name
            box = app.screen.query_one("#fix-dist", Checkbox)
            box.focus()
            await pilot.press("space")
            await pilot.pause(0.2)
            assert "dist" in app.session.request.constraints.fixed
            assert box.render().plain.startswith("[x]")
            for key in ("7", "8", "0"):  # the tool screens' boxes too, as the terminal shows them
                await pilot.press(key)
                await pilot.pause(0.3)
                strips = app.screen._compositor.render_strips()
                for other in app.screen.query("Checkbox"):
                    assert isinstance(other, Checkbox) and other.render().plain[:3] in ("[x]", "[ ]")
                    r = other.region
                    if r.width and r.height:  # on screen (main: the dark screen's "Sample std" box read "[ …")
                        cells = strips[r.y].text[r.x:r.x + r.width]
                        assert cells[:3] in ("[x]", "[ ]") and "…" not in cells, (key, other.id, cells)
            await tui.settle(app, pilot)

    asyncio.run(go())


def test_the_contrast_theme_names_its_muted_text_cursor_and_footer_colours_in_the_16_colour_palette():
    from calterm.tui.themes import load_themes

    ansi = {"#000000", "#800000", "#008000", "#808000", "#000080", "#800080", "#008080", "#C0C0C0",
            "#808080", "#FF0000", "#00FF00", "#FFFF00", "#0000FF", "#FF00FF", "#00FFFF", "#FFFFFF"}
    variables = {t.name: t for t in load_themes()}["calterm-contrast"].variables
    for name in ("text-muted", "footer-key-foreground", "block-cursor-background", "input-selection-background"):
        assert variables[name].upper() in ansi, name  # not Textual's alpha blends, which fall between palette colours
