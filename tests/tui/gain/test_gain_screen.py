"""Gain-map screen from the keyboard on a small synthetic experiment (Pilatus1M layout, 8x8 binned):
positions from a folder, one removed and typed back, computed, profiles and previews shown, exported
through the CLI's writer; the map checked against the known gain."""

from __future__ import annotations

import asyncio
import datetime
import json

import numpy as np
import tifffile

from calterm.core.simulate.amorphous import GainCase, write_case
from calterm.tui.session import session_path


def test_gain_map_from_positions_to_exported_files(tui, isolated_home):
    pairs, truth = write_case(GainCase(binning=8, seed=3), isolated_home / "gain")

    async def go():
        app = tui.open_app(["--output-dir", str(isolated_home)])  # outputs: cwd, chosen
        async with app.run_test(size=(80, 24)) as pilot:
            await tui.settle(app, pilot)
            await pilot.press("0")
            await tui.settle(app, pilot)
            assert app.current_mode == "gain"
            screen = app.screen
            await pilot.press("tab", "tab", "tab", "tab")  # tabs, frames, calibration, folder
            assert app.focused.id == "f-folder"
            await pilot.press(*"gain", "enter")
            await pilot.pause(0.2)
            assert screen.positions == [[f"gain/pos{k}/*.tif", f"gain/pos{k}/pos{k}.poni"] for k in range(1, 6)]
            # remove position 5 from the table, then type it back
            await pilot.press(*["tab"] * 10)
            table = screen.query_one("#gain-positions")
            assert app.focused is table
            await pilot.press("down", "down", "down", "down", "delete")
            await pilot.pause(0.1)
            assert len(screen.positions) == 4 and table.row_count == 4
            frames, calibration = "gain/pos5/frame_*.tif", "gain/pos5/pos5.poni"
            await pilot.press(*["shift+tab"] * 12)
            assert app.focused.id == "f-frames"
            await pilot.press(*frames, "tab", *calibration, "enter")
            await pilot.pause(0.2)
            assert len(screen.positions) == 5 and screen.positions[4] == [frames, calibration]
            await pilot.press("escape", "r")
            await tui.settle(app, pilot)
            computed = screen.computed
            assert computed is not None, app.jobs.finished[0].message
            result = computed["result"]
            flagged = result.damaged & truth.damaged
            assert flagged.sum() >= 0.9 * truth.damaged.sum() and (result.damaged & ~truth.damaged).sum() < 10
            # the Profiles tab is shown: every position and the extrapolation range
            assert screen.query_one("#gain-tabs").active == "gain-profiles"
            plot = screen.query_one("#gain-plot")
            assert len(plot.profile["per_position"]) == 5 and plot.tth_range == tuple(result.tth_range)
            await pilot.press("t")
            await pilot.pause(0.2)
            text = tui.screen_text(app)
            lo, hi = result.tth_range
            assert f"{lo:.3f}-{hi:.3f}°" in text and f"damaged pixels {int(result.damaged.sum())}" in text
            assert f"damaged: {int(result.damaged.sum())} px" in text
            await pilot.press("w")
            await tui.settle(app, pilot)
            base = isolated_home / f"gain_{datetime.date.today().isoformat()}"
            gain = tifffile.imread(f"{base}.tif")
            assert gain.dtype == np.float32 and gain.shape == truth.gain.shape
            ok = ~truth.gaps & np.isfinite(gain)
            ratio = gain[ok] / truth.smooth[ok]
            assert np.sqrt(np.mean((ratio / np.median(ratio) - 1) ** 2)) < 0.03
            assert tifffile.imread(f"{base}_damaged_mask.tif").sum() == int(result.damaged.sum())
            report = json.loads(base.with_name(base.name + "_report.json").read_text())
            assert report["form"] == "divide" and len(report["positions"]) == 5
            assert (isolated_home / f"{base.name}.v0.tif").is_file()
            await pilot.press("ctrl+q")
        saved = json.loads(session_path().read_text())["tools"]["gain"]
        assert len(saved["inputs"]["positions"]) == 5 and saved["report"]["damaged_pixels"] == int(result.damaged.sum())

    asyncio.run(go())
