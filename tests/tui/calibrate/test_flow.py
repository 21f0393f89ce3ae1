"""The whole flow a new user follows: demo -> c -> results -> export history CSV -> save PONI ->
delete a point and refit; numbers checked against the geometry the demo was rendered with."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from calterm.core.simulate.powder import demo_case


def test_demo_calibrate_results_export_save_refit(tui, poni_file_is):
    truth = demo_case().geometry

    async def go():
        app = tui.open_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("c")
            await tui.settle(app, pilot)
            assert app.current_mode == "results"
            result = app.session.result
            assert result is not None and result.verdict.status == "good"
            assert abs(result.geometry.dist - truth.dist) < 1e-4  # 0.1 mm of 180 mm
            text = tui.screen_text(app)
            assert "RMS" in text and f"{result.geometry.dist * 1e3:.3f}" in text and "mm" in text

            # export the history (e, accept the default path)
            await pilot.press("e")
            await pilot.pause(0.2)
            await pilot.press("enter")
            await tui.settle(app, pilot)
            csv_path = Path(app.session.outputs["history"])
            rows = list(csv.reader(csv_path.open()))
            assert rows[0] == list(result.history.columns) and len(rows) == len(result.history) + 1

            # save the PONI twice: the second keeps the first as a version
            for _ in range(2):
                await pilot.press("s")
                await pilot.pause(0.2)
                await pilot.press("enter")
                await tui.settle(app, pilot)
            poni = Path(app.session.outputs["poni"])
            poni_file_is(poni, result.geometry, result.detector)  # all seven and every pixel's 2θ
            assert sorted(p.name for p in poni.parent.glob(poni.stem + ".v*" + poni.suffix)) == [
                f"{poni.stem}.v0.poni", f"{poni.stem}.v1.poni"]

            # delete the worst point and refit: one point fewer, still good
            await pilot.press("o", "o")  # sort by |residual|
            await pilot.pause(0.2)
            n = result.rows.size
            await pilot.press("d")
            await tui.settle(app, pilot)
            assert app.session.result.rows.size == n - 1
            assert abs(app.session.result.geometry.dist - truth.dist) < 1e-4
            await pilot.press("ctrl+q")
        assert app.return_code == 0

    asyncio.run(go())
