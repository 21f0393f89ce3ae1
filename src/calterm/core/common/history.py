"""Optimization history: one row per iteration (or generation), exportable to CSV.

Every optimizer in calterm appends rows here rather than printing, so the TUI can show a table and
the CLI can write ``--history PATH.csv``. Rows share the columns given at construction; values
are floats or short strings (the stage name). The CSV goes through the one output writer, like
every file calterm writes: a second export keeps the first as a numbered version.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from calterm.core.io.writer import write_text_output


@dataclass
class History:
    """An ordered table of optimizer iterations with fixed columns."""

    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    def add(self, **values) -> None:
        missing = set(self.columns) - set(values)
        if missing:
            raise ValueError(f"history row lacks {sorted(missing)}")
        self.rows.append(tuple(values[c] for c in self.columns))

    def extend(self, other: History) -> None:
        if other.columns != self.columns:
            raise ValueError("history columns differ")
        self.rows.extend(other.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def as_records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_csv_text(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_fmt(v) for v in row])
        return buf.getvalue()

    def write_csv(self, path: str | os.PathLike, *, command: str = "", inputs: dict | None = None) -> Path:
        """Write a new version of ``path`` (``NAME.vK.csv``, ``path`` links to it, logged); return it."""
        return write_text_output(path, self.to_csv_text(), command=command, inputs=inputs)


def _fmt(value) -> str:
    if isinstance(value, float):
        return repr(value)  # full precision: the CSV must reproduce the fit
    return str(value)
