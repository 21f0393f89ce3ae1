"""What the series screen shows, as text: the drift table's cells (mm, px, mrad, °; a flagged row
marked ``!`` in its own column, not only by colour), the line of counts, the typed message that
carries one row from the worker to the screen, and the shared parser's words in the screen's terms."""

from __future__ import annotations

import math
import time

from textual.message import Message

COLUMNS = ("!", "#", "time", "dist mm", "x px", "y px", "rot1 mrad", "rot2 mrad", "rot3 mrad", "RMS mrad",
           "verdict", "path", "flags")
CLI_WORDS = {"--watch:": "Images / folder:", "IMAGES:": "Images / folder:", "--jump-mm": "Jump mm",
             "--jump-px": "Jump px", "--calibrant": "Calibrant", "--wavelength": "Wavelength Å",
             "--energy": "Energy", "--pixel-size": "Pixel µm", "--detector": "Detector",
             " or --watch DIR": " or a folder with watch on"}


class DriftRowArrived(Message):
    """One image of a running series was recalibrated (posted from the worker, one per image)."""

    def __init__(self, row) -> None:
        super().__init__()
        self.row = row


def row_cells(row) -> tuple[str, ...]:
    """One drift-table row in the screen's units."""
    return ("!" if row.flags else "", str(row.index), time.strftime("%H:%M:%S", time.localtime(row.time_s)),
            f"{row.dist_mm:.4f}", f"{row.center_x:.2f}", f"{row.center_y:.2f}", f"{row.rot1 * 1e3:+.3f}",
            f"{row.rot2 * 1e3:+.3f}", f"{row.rot3 * 1e3:+.3f}", f"{math.radians(row.rms_2th_deg) * 1e3:.4f}", row.verdict, row.method,
            "; ".join(row.flags))


def counts_line(rows: list, skipped: int, running: bool, stop_reason: str = "") -> str:
    flagged = sum(1 for r in rows if r.flags)
    state = "running… (esc stops, the table is kept)" if running else (f"stopped: {stop_reason}" if stop_reason
                                                                         else "done")
    return f"{len(rows)} images, {skipped} skipped, {flagged} flagged (!) · {state}"


def app_words(message: str) -> str:
    for cli, label in CLI_WORDS.items():
        message = message.replace(cli, label)
    return message
