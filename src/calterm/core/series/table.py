"""The drift table of a series as CSV or JSON text, written through the one writer
(:mod:`calterm.core.io.writer`): versioned, atomic, never overwritten."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from calterm.core.common.jsonable import plain_json
from calterm.core.io.writer import write_text_output
from calterm.core.series.run import COLUMNS, SeriesResult


def drift_csv(result: SeriesResult) -> str:
    """One line per image, the columns of :data:`COLUMNS` (flags joined by ``;``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in result.rows:
        values = [getattr(row, c) for c in COLUMNS]
        writer.writerow(["; ".join(v) if isinstance(v, tuple) else (f"{v:.10g}" if isinstance(v, float) else v)
                         for v in values])
    return buf.getvalue()


def write_drift_table(result: SeriesResult, path: str | Path, command: str = "") -> Path:
    """``.csv`` or ``.json`` by the path's suffix."""
    text = (json.dumps(plain_json(result.summary()), indent=2) + "\n" if str(path).endswith(".json")
            else drift_csv(result))
    return write_text_output(path, text, command=command,
                             inputs={"images": len(result.rows), "skipped": len(result.skipped)})
