"""The results screen's text: the summary line and the history table's headers and rows, in the
screens' unit system (:mod:`calterm.tui.units`). Plain functions over a result, kept apart from
the screen so they read (and are tested) without a running app."""

from __future__ import annotations

import math

from calterm.tui.units import PARAM_QUANTITY, fmt, header, unit

# history column -> (its header's name, quantity); the rest are shown as they are
HISTORY = {"iteration": ("#", None), "rms_2th_rad": ("RMS", "angle"), "n_points": ("n", None),
           **{p: ("λ" if p == "wavelength" else p, q) for p, q in PARAM_QUANTITY.items()}}


def summary_text(result, units: str = "mm") -> str:
    """The line outside checks read: verdict, RMS and the refined distance (mm, or m in PONI units)."""
    v = result.verdict
    color = {"good": "green", "doubtful": "yellow"}.get(v.status, "red")
    spec = ".3f" if units != "poni" else ".6f"
    sd = result.sigma.get("dist")
    pm = f" ± {fmt('distance', sd, units, spec=spec)}" if sd is not None and math.isfinite(sd) else ""
    rms = fmt("angle", v.rms_rad, units, spec=spec, unit_too=True)
    return (f"[b {color}]{v.status}[/]: distance [b]{fmt('distance', result.geometry.dist, units, spec=spec)}{pm} "
            f"{unit('distance', units)}[/b] · RMS {rms} ({result.rms_2th_deg:.4f}°) · {result.rows.size} points, "
            f"{len(result.rings)} rings")


def history_table(history, units: str, last: int = 500) -> tuple[list[str], list[list[str]]]:
    """The optimization history as the History tab shows it: headers with units, values converted,
    the ``last`` rows (the CSV keeps every row, in PONI units)."""
    names = [HISTORY.get(c, (c, None)) for c in history.columns]
    heads = [name if quantity is None else header(name, quantity, units) for name, quantity in names]
    rows = []
    for row in history.rows[-last:]:
        rows.append([fmt(q, v, units) if q is not None and isinstance(v, float)
                     else f"{v:.6g}" if isinstance(v, float) else str(v) for (_, q), v in zip(names, row, strict=True)])
    return heads, rows
