"""Argument helpers shared by subcommands: coordinates, image options, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import sys

from calterm.errors import InputError


def parse_xy(text: str) -> tuple[float, float]:
    """``X,Y`` in pixels (x = column, y = row)."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"expected X,Y in pixels, got {text!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InputError(f"coordinates must be finite, got {text!r}")
    return x, y


def parse_names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def add_image_options(p: argparse.ArgumentParser) -> None:
    """Options every image-reading subcommand shares."""
    p.add_argument("--frame", type=int, default=0, help="frame index in a multi-frame file (default 0)")
    p.add_argument("--detector", help="detector name from pyFAI's registry (default: chosen by image shape)")
    p.add_argument("--pixel-size", type=float, metavar="UM", help="pixel size in µm (overrides the detector's)")
    p.add_argument("--rotate", type=int, default=0, choices=(0, 90, 180, 270),
                   help="rotate the image counter-clockwise before calibrating (results refer to the rotated image)")
    p.add_argument("--flip", choices=("h", "v"), help="flip after rotating: h mirrors columns, v mirrors rows")
    p.add_argument("--mask", metavar="FILE", help="mask file (EDF, TIFF, NPY; nonzero = masked)")


def to_jsonable(obj):
    """Numpy scalars/arrays and non-finite floats -> plain JSON (NaN becomes null)."""
    import numpy as np  # here, not at import: the TUI starts through this package

    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj) -> None:
    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")
