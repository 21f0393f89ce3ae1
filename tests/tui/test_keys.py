"""Keys and input safety (issue 15 item 3): keys land where they were typed, in the order typed.

A burst is sent the way a terminal delivers it: every key event queued on the app at once (as
tmux send-keys or a fast typist does), not pilot.press's one-key-then-wait, which hides the hazard.
"""

from __future__ import annotations

import asyncio

from textual import events
from textual.widgets import Input

KEY_NAMES = {",": "comma", ".": "full_stop", "_": "underscore", "\t": "tab", "\r": "enter", "\x1b": "escape"}


async def burst(pilot, text: str) -> None:
    """Queue every key of ``text`` on the app at once, as the terminal driver does."""
    for ch in text:
        pilot.app.post_message(events.Key(KEY_NAMES.get(ch, ch), ch))
    await pilot.pause(0.5)


def test_fast_typed_fields_separated_by_tab_fill_three_fields(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await pilot.pause(0.3)
            app.screen.query_one("#f-average", Input).focus()
            await pilot.pause(0.1)
            await burst(pilot, "t_avg.edf\tt_std.edf\tt_max.edf")
            values = {k: app.screen.query_one(f"#f-{k}", Input).value for k in ("average", "std", "max")}
            assert values == {"average": "t_avg.edf", "std": "t_std.edf", "max": "t_max.edf"}
            assert app.focused.id == "f-max"

    asyncio.run(go())


def test_a_number_typed_with_no_field_focused_never_adds_a_point(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            before = app.session.request.points
            app.screen.set_focus(None)
            await pilot.pause(0.1)
            await burst(pilot, "410,690\r")
            await tui.settle(app, pilot)
            assert app.session.request.points == before  # main added a point at the cursor here
            assert app.current_mode == "gain"  # the digits did what the tab bar says: last one 0 = Gain
            assert not app.jobs.busy

    asyncio.run(go())


def test_enter_places_a_point_only_when_the_image_view_has_focus(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            screen = app.screen
            screen.set_focus(None)
            await pilot.pause(0.1)
            for key in ("enter", "equals_sign", "a"):
                await pilot.press(key)
                await tui.settle(app, pilot)
            assert app.session.request.points == ()
            screen.query_one("#preview").focus()
            await pilot.press("equals_sign")
            await tui.settle(app, pilot)
            assert len(app.session.request.points) == 1

    asyncio.run(go())


def test_digits_typed_in_a_field_stay_in_the_field_and_alt_digit_switches(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            app.screen.query_one("#xy", Input).focus()
            await burst(pilot, "410,690")
            assert app.current_mode == "points"
            assert app.screen.query_one("#xy", Input).value == "410,690"
            await pilot.press("alt+5")
            await pilot.pause(0.3)
            assert app.current_mode == "results"

    asyncio.run(go())


def test_bracketed_paste_goes_into_the_focused_field_only(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await pilot.pause(0.3)
            screen = app.screen
            fields = {k: screen.query_one(f"#f-{k}", Input) for k in ("average", "std", "max")}
            before = {k: f.value for k, f in fields.items()}
            screen.set_focus(None)
            app.post_message(events.Paste("7\tr\nw"))  # with nothing focused: no screen switch, no run
            await pilot.pause(0.3)
            assert app.current_mode == "dark" and not app.jobs.busy
            assert {k: f.value for k, f in fields.items()} == before
            fields["std"].focus()
            fields["std"].value = ""
            await pilot.pause(0.1)
            app.post_message(events.Paste("t_avg.edf\tt_std.edf\nt_max.edf"))
            await pilot.pause(0.3)
            assert fields["std"].value == "t_avg.edf t_std.edf"  # first line, the tab not a key
            assert fields["average"].value == before["average"] and fields["max"].value == before["max"]
            assert app.focused is fields["std"]

    asyncio.run(go())


def test_every_screen_is_reached_with_ctrl_pagedown_and_back(tui):
    from calterm.tui.app import SCREENS

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            seen = [app.current_mode]
            for _ in range(len(SCREENS)):
                await pilot.press("ctrl+pagedown")
                await pilot.pause(0.2)
                seen.append(app.current_mode)
            assert seen[:-1] == list(SCREENS) and seen[-1] == seen[0]  # wraps round
            await pilot.press("ctrl+pageup")
            await pilot.pause(0.2)
            assert app.current_mode == list(SCREENS)[-1]
            await tui.settle(app, pilot)

    asyncio.run(go())


def test_screens_past_the_tenth_are_named_and_reached_by_ctrl_pagedown_and_the_palette(tui):
    """The joint and series screens, the eleventh and twelfth: no digit for them, but a tab,
    ctrl+pagedown and a palette entry."""
    from calterm.tui.app import SCREEN_CLASSES
    from calterm.tui.widgets.tab_bar import TabBar

    assert list(SCREEN_CLASSES)[10:] == ["joint", "series"]

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("0")
            await pilot.pause(0.3)
            assert app.current_mode == "gain"
            await pilot.press("ctrl+pagedown")
            await pilot.pause(0.3)
            assert app.current_mode == "joint"
            bar = app.screen.query_one(TabBar).render().plain
            assert " Joint" in bar and " Series" in bar and " 0Gain" in bar and len(bar) <= 80
            await pilot.press("ctrl+pagedown", "ctrl+pagedown")
            await pilot.pause(0.3)
            assert app.current_mode == "parameters"  # past series: round to the first
            titles = {c.title: c for c in app.get_system_commands(app.screen)}
            assert "go to series" in {title.lower() for title in titles}
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            await pilot.press(*"go to series")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.5)
            assert app.current_mode == "series"
            await tui.settle(app, pilot)

    asyncio.run(go())


def test_esc_then_a_digit_in_one_burst_leaves_the_field_then_switches(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("7")
            await pilot.pause(0.3)
            field = app.screen.query_one("#f-average", Input)
            field.focus()
            await pilot.pause(0.1)
            await burst(pilot, "d.edf\x1b2")
            assert field.value == "d.edf"  # main: "d.edf2", the 2 reached the field before esc left it
            assert app.current_mode == "points"
            await tui.settle(app, pilot)

    asyncio.run(go())
