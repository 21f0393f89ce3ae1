"""Jobs run in workers with coalesced progress and cancel; the session survives a kill exactly."""

from __future__ import annotations

import asyncio
import shutil
import time

from calterm.tui.session import session_path


def test_job_progress_cancel_and_responsive_ui(tui):
    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            reports = []

            def long_job(ctx):
                for i in range(10**7):  # a flood of reports: the UI keeps only the newest
                    ctx.report("grind", i, 10**7)
                    reports.append(i)
                    if i % 1000 == 0:
                        time.sleep(0.001)
                return "never"

            record = app.jobs.start("Long job", long_job)
            await pilot.pause(0.3)
            t0 = time.perf_counter()
            await pilot.press("4")  # the interface answers while the job runs
            await pilot.pause(0.3)
            assert app.current_mode == "jobs" and time.perf_counter() - t0 < 3
            assert record.running and record.progress.stage == "grind" and record.progress.total == 10**7
            assert "Long job" in tui.screen_text(app)
            await pilot.press("escape")
            await tui.settle(app, pilot)
            assert record.status == "cancelled" and len(reports) < 10**7
            assert app.jobs.start("Second", lambda ctx: 42) is not None  # the runner is free again
            await tui.settle(app, pilot)
            assert app.jobs.finished[0].status == "done"

    asyncio.run(go())


def test_kill_mid_session_and_resume_exactly(tui, tmp_path):
    snapshot = tmp_path / "killed-session.json"

    async def work():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            field = app.screen.query_one("#f-distance")
            field.focus()
            field.value = ""
            await pilot.press(*"183.25")
            await pilot.press("escape", "2")
            await tui.settle(app, pilot)
            app.screen.query_one("#xy").focus()
            await pilot.press(*"321.5, 432.75", "enter")
            await pilot.press("escape")
            app.screen.query_one("#preview").focus()
            await pilot.press("plus", "plus", "i", "z", "right")
            await pilot.pause(0.6)  # the debounced cursor save
            # what a killed terminal leaves behind: the file as it is now, before any clean exit
            shutil.copy(session_path(), snapshot)
            return app.session

    before = asyncio.run(work())

    async def resume():
        app = tui.open_app(["--resume", "--session", str(snapshot)])
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            s = app.session
            assert s.request == before.request
            assert (s.ring, s.auto_increment, s.zoom, s.cursor_xy, s.screen) == (
                before.ring, before.auto_increment, before.zoom, before.cursor_xy, "points")
            assert app.current_mode == "points"
            assert s.request.distance_mm == 183.25 and s.request.points[0].x == 321.5
            text = tui.screen_text(app)
            assert "321.50" in text and "ring 3" in text

    asyncio.run(resume())
