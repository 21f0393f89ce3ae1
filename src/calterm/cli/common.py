"""Argument helpers shared by subcommands: coordinates, image options, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import sys

from calterm.core.common.jsonable import plain_json
from calterm.errors import InputError


def parse_xy(text: str) -> tuple[float, float]:
    """``X,Y`` (or ``X;Y``) in pixels (x = column, y = row); the CLI and the app's typed points."""
    try:
        x, y = (float(v) for v in text.replace(";", ",").split(","))
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




def print_json(obj) -> None:
    json.dump(plain_json(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def parse_range(text: str | None) -> tuple[float | None, float | None] | None:
    """``LO,HI`` with either side empty for an open bound; None stays None."""
    if text is None:
        return None
    try:
        lo, hi = (float(v) if v.strip() else None for v in text.split(","))
    except ValueError:
        raise InputError(f"expected LO,HI (either may be empty), got {text!r}") from None
    return lo, hi
