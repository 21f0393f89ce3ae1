"""Jobs report back as typed messages a test can collect (Textual's message hook): JobDone carries the
result itself, JobFailed the one line a user reads, JobCancelled the record; progress is coalesced;
a worker that finishes after quit neither blocks nor raises."""

from __future__ import annotations

import asyncio
import threading
import time

from calterm.core.calibrate.model import CalibrationResult
from calterm.core.simulate.powder import demo_case
from calterm.errors import InputError
from calterm.tui.workers import JobCancelled, JobDone, JobFailed, JobMessage, JobProgress


def _collect(app_messages: list):
    def hook(message) -> None:
        if isinstance(message, JobMessage):
            app_messages.append(message)

    return hook


def test_calibrate_delivers_job_done_with_the_result_and_its_inputs(tui):
    truth = demo_case().geometry
    seen: list = []

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24), message_hook=_collect(seen)) as pilot:
            await tui.settle(app, pilot)
            demo = [m for m in seen if isinstance(m, JobDone) and m.kind == "demo"]
            assert len(demo) == 1 and demo[0].result.calibrant == "LaB6"
            await pilot.press("c")
            await tui.settle(app, pilot)
            done = [m for m in seen if isinstance(m, JobDone) and m.kind == "calibrate"]
            # one message, seen once by the app (the job's owner): no duplicate delivery
            assert len(done) == 1
            result = done[0].result
            assert isinstance(result, CalibrationResult) and result.verdict.status == "good"
            assert abs(result.geometry.dist - truth.dist) < 1e-4 and abs(result.geometry.poni1 - truth.poni1) < 1e-4
            assert done[0].record.status == "done" and done[0].record.name == "Calibrate"
            # the message says which inputs the result came from: the ones on screen now
            assert done[0].record.key == app.session.request_key() == app.session.result_key
            assert app.session.result is result

            # a screen's job goes to that screen and bubbles to the app: delete a point, refit
            await pilot.press("o", "o", "d")
            await tui.settle(app, pilot)
            refit = [m for m in seen if isinstance(m, JobDone) and m.kind == "refit"]
            assert refit and refit[0].result.rows.size == result.rows.size - 1
            assert app.session.result is refit[0].result

    asyncio.run(go())


def test_failed_cancelled_and_coalesced_progress_messages(tui):
    seen: list = []

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24), message_hook=_collect(seen)) as pilot:
            await tui.settle(app, pilot)
            seen.clear()

            def bad_input(ctx):
                raise InputError("wavelength: expected a number, got 'abc'")

            app.jobs.start("Bad", bad_input)
            await tui.settle(app, pilot)
            failed = [m for m in seen if isinstance(m, JobFailed)]
            assert [m.message for m in failed] == ["wavelength: expected a number, got 'abc'"]
            assert failed[0].record.status == "failed"

            app.jobs.start("Bug", lambda ctx: 1 / 0)
            await tui.settle(app, pilot)
            assert [m.message for m in seen if isinstance(m, JobFailed)][-1] == (
                "internal error: ZeroDivisionError: division by zero")

            reports = [0]

            def flood(ctx):
                for i in range(10**7):
                    ctx.report("grind", i, 10**7)
                    reports[0] += 1
                    if i % 1000 == 0:
                        time.sleep(0.001)

            t0 = time.perf_counter()
            record = app.jobs.start("Flood", flood)
            await pilot.pause(0.8)
            await pilot.press("escape")
            await tui.settle(app, pilot)
            elapsed = time.perf_counter() - t0
            progress = [m for m in seen if isinstance(m, JobProgress)]
            cancelled = [m for m in seen if isinstance(m, JobCancelled)]
            assert [m.record for m in cancelled] == [record] and record.status == "cancelled"
            # thousands of reports, at most one message per 0.1 s, and each reads the newest report
            assert reports[0] > 10 * len(progress) and 2 <= len(progress) <= elapsed / 0.1 + 2
            assert progress[-1].progress.stage == "grind" and progress[-1].progress.done == reports[0] - 1
            assert not [m for m in seen if isinstance(m, JobDone)]

    asyncio.run(go())


def test_a_worker_finishing_after_quit_never_blocks(tui):
    finished = threading.Event()
    errors: list = []

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)

            def slow(ctx):
                try:
                    time.sleep(0.6)
                    return 42
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)
                    raise
                finally:
                    finished.set()

            started = threading.Event()
            app.jobs.start("Slow", lambda ctx: (started.set(), slow(ctx))[1])
            assert await asyncio.to_thread(started.wait, 10)  # the worker runs when the app quits
            await pilot.press("ctrl+q")
        return app

    t0 = time.perf_counter()
    app = asyncio.run(go())
    assert time.perf_counter() - t0 < 30 and app.return_code == 0
    assert finished.wait(5) and not errors
    time.sleep(0.2)  # the worker posts its JobDone to a closed app: nothing raises, nothing waits
    assert app.jobs.finished and app.jobs.finished[0].status == "done"


def test_a_search_finishing_on_another_image_adds_no_points(tui, rendered):
    """The job carries the image key it started on; the points screen refuses a late answer."""
    other = rendered("pilatus").path

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("2")
            await tui.settle(app, pilot)
            screen = app.screen
            started = app.session.image_key()
            app.update_request("all", geometry=True, image_path=str(other))
            from calterm.core.calibrate.model import ControlPoint
            from calterm.tui.workers import JobRecord

            record = JobRecord("Single-peak search", "peak", started, status="done")
            screen.post_message(JobDone(record, [ControlPoint(10.0, 20.0, 1)]))
            await tui.settle(app, pilot)
            assert app.session.request.points == ()
            assert screen.query_one("#points").row_count == 0

    asyncio.run(go())
