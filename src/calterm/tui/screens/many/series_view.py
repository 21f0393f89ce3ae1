"""What the series screen shows, as text: the drift table's cells (mm, px, mrad; or m and rad in
PONI units, :mod:`calterm.tui.units`; a flagged row marked ``!`` in its own column, not only by
colour), the line of counts, the typed message that carries one row from the worker to the screen,
and the shared parser's words in the screen's terms."""

from __future__ import annotations

import time

from textual.message import Message

from calterm.tui.units import MM, PONI, fmt, header

CLI_WORDS = {"--watch:": "Images / folder:", "IMAGES:": "Images / folder:", "--jump-mm": ("Jump", "distance"),
             "--jump-px": "Jump px", "--calibrant": "Calibrant", "--wavelength": ("Wavelength", "wavelength"),
             "--energy": "Energy", "--pixel-size": ("Pixel", "pixel"), "--detector": "Detector",
             " or --watch DIR": " or a folder with watch on"}


def columns(units: str = MM) -> tuple[str, ...]:
    """The drift table's headers, each unit in ``units``."""
    return ("!", "#", "time", header("dist", "distance", units), "x px", "y px",
            *(header(f"rot{k}", "rotation", units) for k in (1, 2, 3)), header("RMS", "angle", units),
            "verdict", "path", "flags")


class DriftRowArrived(Message):
    """One image of a running series was recalibrated (posted from the worker, one per image)."""

    def __init__(self, row) -> None:
        super().__init__()
        self.row = row


def row_cells(row, units: str = MM) -> tuple[str, ...]:
    """One drift-table row in the screen's units (rotations to 1 µrad in either system)."""
    rot_spec = ".6f" if units == PONI else ".3f"
    rots = (fmt("rotation", r, units, sign=True, spec=rot_spec) for r in (row.rot1, row.rot2, row.rot3))
    return ("!" if row.flags else "", str(row.index), time.strftime("%H:%M:%S", time.localtime(row.time_s)),
            fmt("distance", row.dist_mm, units, from_unit="mm"), f"{row.center_x:.2f}", f"{row.center_y:.2f}", *rots,
            fmt("angle", row.rms_2th_deg, units, from_unit="°"), row.verdict, row.method, "; ".join(row.flags))


def counts_line(rows: list, skipped: int, running: bool, stop_reason: str = "") -> str:
    flagged = sum(1 for r in rows if r.flags)
    state = "running… (esc stops, the table is kept)" if running else (f"stopped: {stop_reason}" if stop_reason
                                                                         else "done")
    return f"{len(rows)} images, {skipped} skipped, {flagged} flagged (!) · {state}"


def app_words(message: str, units: str = MM) -> str:
    """A parser message with the screen's field names (their units shown) instead of the CLI's flags."""
    for cli, label in CLI_WORDS.items():
        message = message.replace(cli, label if isinstance(label, str) else header(*label, units))
    return message
