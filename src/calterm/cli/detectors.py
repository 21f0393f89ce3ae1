"""`calterm detectors [SHAPE]`: list pyFAI's registered detectors, or those matching a shape."""

from __future__ import annotations

from calterm.core.common import detectors
from calterm.errors import InputError


def add_parser(sub):
    p = sub.add_parser("detectors", help="list detectors from pyFAI's registry")
    p.add_argument("shape", nargs="?", help="ROWS,COLS: only detectors of this shape")
    return p


def run(args) -> int:
    if args.shape:
        try:
            shape = tuple(int(v) for v in args.shape.split(","))
        except ValueError:
            raise InputError(f"shape must be ROWS,COLS, not {args.shape!r}") from None
        names = detectors.names_for_shape(shape)
    else:
        names = detectors.registered_names()
    print("\n".join(names))
    return 0
