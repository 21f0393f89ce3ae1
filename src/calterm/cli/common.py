"""argparse pieces shared by subcommands: the image options and JSON output. Parsing what the
user typed is :mod:`calterm.inputs`'s job, for the CLI and the app alike."""

from __future__ import annotations

import argparse
import json
import sys

from calterm.core.common.jsonable import plain_json


def add_image_options(p: argparse.ArgumentParser) -> None:
    """Options every image-reading subcommand shares."""
    p.add_argument("--frame", type=int, default=0, help="frame index in a multi-frame file (default 0)")
    p.add_argument("--detector", help="detector name from pyFAI's registry (default: chosen by image shape)")
    p.add_argument("--pixel-size", type=float, metavar="UM", help="pixel size in µm (overrides the detector's)")
    p.add_argument("--rotate", type=int, default=0, choices=(0, 90, 180, 270),
                   help="rotate the image counter-clockwise before calibrating (results refer to the rotated image)")
    p.add_argument("--flip", choices=("h", "v"), help="flip after rotating: h mirrors columns, v mirrors rows")
    p.add_argument("--mask", metavar="FILE", help="mask file (EDF, TIFF, NPY; nonzero = masked)")


def add_wavelength_options(p: argparse.ArgumentParser, wavelength_help: str = "X-ray wavelength in Å",
                           required: bool = False) -> None:
    """``--wavelength`` or ``--energy``, never both (``calterm.inputs`` converts either)."""
    wl = p.add_mutually_exclusive_group(required=required)
    wl.add_argument("--wavelength", metavar="ANGSTROM", help=wavelength_help)
    wl.add_argument("--energy", metavar="KEV", help="X-ray energy in keV")


def print_json(obj) -> None:
    json.dump(plain_json(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")
