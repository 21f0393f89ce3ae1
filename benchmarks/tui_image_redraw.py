"""Image view redraw times (issue 15, Performance: a redraw <= 100 ms on a 4 Mpx image after the first).

usage: python benchmarks/tui_image_redraw.py [RUNS]

For a 1 Mpx (1024 x 1024) and a 4 Mpx (2048 x 2048) synthetic powder image: the first redraw
(``PreviewImage.prepare``, the reduction levels computed once per image, which the app does in the
preview worker, plus the first draw) and the next ones (the cursor moved, at zoom 1 and zoom 6),
each the full ``ImagePreview.draw`` of the points screen's view at 80x24 (44 x 19 cells) in a
headless Textual app, for the half-block and braille modes (the graphics mode's picture included
with ``--graphics``: textual-image's half-cell widget stands in for Kitty/Sixel here).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import numpy as np


def powder(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:n, 0:n]
    r = np.hypot(x - 0.49 * n, y - 0.51 * n)
    return rng.poisson(20 + 3000 * np.exp(-0.5 * ((r % (n / 14)) - n / 28) ** 2 / 2)).astype(np.float32)


async def measure(n: int, mode: str, runs: int) -> tuple[float, float, float]:
    from textual.app import App

    from calterm.tui.preview_data import PreviewImage
    from calterm.tui.widgets import image_modes
    from calterm.tui.widgets.image_preview import ImagePreview

    image_modes.set_mode(mode)

    class View(App):
        CSS = "ImagePreview { width: 46; height: 21; }"

        def compose(self):
            yield ImagePreview()

    data = np.log1p(powder(n))
    app = View()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(ImagePreview)
        t0 = time.perf_counter()
        image = PreviewImage((n, mode), data).prepare()
        view.show(image=image, cursor=(n / 2, n / 2))
        view.draw()
        first = time.perf_counter() - t0
        nxt = {1.0: [], 6.0: []}
        for zoom in nxt:
            view.zoom = zoom
            for k in range(runs):
                view.show(cursor=(n / 2 + 7 * k, n / 2 - 5 * k))
                t0 = time.perf_counter()
                view.draw()
                nxt[zoom].append(time.perf_counter() - t0)
        await pilot.pause()
    return first, statistics.median(nxt[1.0]), max(max(v) for v in nxt.values())


def main() -> None:
    runs = int(next((a for a in sys.argv[1:] if a.isdigit()), "20"))
    modes = ["halfblock", "braille"]
    if "--graphics" in sys.argv:
        from textual_image.widget import HalfcellImage

        from calterm.tui.widgets import image_modes

        image_modes.set_graphics_widget(HalfcellImage)
        modes.append("graphics")
    print(f"{'image':>8} {'mode':>10} {'first ms':>9} {'next ms (median)':>17} {'next ms (max)':>14}")
    for n in (1024, 2048):
        for mode in modes:
            first, med, worst = asyncio.run(measure(n, mode, runs))
            print(f"{n * n / 1e6:>6.1f}Mp {mode:>10} {first * 1e3:>9.1f} {med * 1e3:>17.2f} {worst * 1e3:>14.2f}")


if __name__ == "__main__":
    main()
