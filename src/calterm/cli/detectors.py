"""`calterm detectors [SHAPE] [--json]`: pyFAI's registered detectors with their shape and pixel
size, or those of one image shape. A shape that matches nothing says so and exits 1 (a blank list
with exit 0 read as "every detector fits" in scripts)."""

from __future__ import annotations

from calterm.cli.common import print_json
from calterm.core.common import detectors
from calterm.errors import ComputationError, InputError


def add_parser(sub):
    p = sub.add_parser("detectors", help="list detectors from pyFAI's registry (name, shape, pixel size)")
    p.add_argument("shape", nargs="?", help="ROWS,COLS: only detectors of this shape")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def _shape(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise InputError(f"shape must be ROWS,COLS (two positive integers), not {text!r}") from None
    if rows < 1 or cols < 1:
        raise InputError(f"shape must be ROWS,COLS (two positive integers), not {text!r}")
    return rows, cols


def run(args) -> int:
    shape = _shape(args.shape) if args.shape else None
    names = detectors.names_for_shape(shape) if shape else detectors.registered_names()
    rows = [detectors.describe_registered(n) for n in names]
    if args.json:
        print_json({"shape": list(shape) if shape else None, "detectors": rows})
    else:
        for row in rows:
            shape_text = "x".join(map(str, row["shape"])) if row["shape"] else "any"
            pixel = row["pixel_size_um"]
            size = "any" if pixel is None else f"{pixel[0]:g}" if pixel[0] == pixel[1] else f"{pixel[0]:g} x {pixel[1]:g}"
            print(f"{row['name']:28s} {shape_text:>11s}  {size:>9s} µm")
    if not rows:
        raise ComputationError(f"none: no detector in pyFAI's registry has shape {shape[0]},{shape[1]} "
                               "(give --pixel-size UM for a generic detector)")
    return 0
