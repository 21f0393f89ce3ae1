"""`calterm identify IMAGE --wavelength A`: which calibrant is this? Every calibrant of pyFAI's
registry and the user's folder ranked by how well its rings explain the image, each at its best
distance (no fit, no calibrant typed). Exit 0 when one explains the image, 1 when none does, 2 on
bad input."""

from __future__ import annotations

import sys

from calterm.cli.common import add_wavelength_options, print_json
from calterm.inputs.identify import identify_request

# what a score means, for the text report (see calterm.core.calibrate.identity)
EXPLAINS = 0.5


def add_parser(sub):
    p = sub.add_parser("identify", help="rank the calibrants that explain an image's rings, with their distances",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="calibrant image (any format fabio reads; FILE.h5::/path for HDF5)")
    add_wavelength_options(p, required=True)
    p.add_argument("--frame", default="0", help="frame index in a multi-frame file (default 0)")
    p.add_argument("--detector", help="detector name from pyFAI's registry (default: chosen by image shape)")
    p.add_argument("--pixel-size", metavar="UM", help="pixel size in µm (overrides the detector's)")
    p.add_argument("--mask", metavar="FILE", help="mask file (EDF, TIFF, NPY; nonzero = masked)")
    p.add_argument("--calibrant-file", action="append", default=[], metavar="FILE",
                   help="a d-spacing file (.D) to rank too; repeatable")
    p.add_argument("--center", metavar="X,Y", help="beam centre in pixels, if known (x = column, y = row): "
                   "helps when the beam is in a corner or off the detector")
    p.add_argument("--top", default="5", metavar="N", help="show the N best (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return p


def run(args) -> int:
    from calterm.core.calibrate.identify_image import identify

    fields = {key: getattr(args, key) for key in ("image", "wavelength", "energy", "frame", "detector", "pixel_size",
                                                  "mask", "calibrant_file", "top", "center")}
    result = identify(identify_request(fields))
    found = bool(result.ranking) and result.ranking[0].explained >= EXPLAINS
    if args.json:
        print_json(result.summary())
    else:
        x, y = result.centre_xy
        print(f"{result.image_path}: detector {result.detector_name}, beam centre ({x:.1f}, {y:.1f}) px, "
              f"{result.peaks} ring peaks")
        print(f"{'rank':>4}  {'calibrant':<16} {'distance mm':>11}  {'score':>6}  {'explained':>9}  absent rings")
        for k, s in enumerate(result.ranking, 1):
            print(f"{k:>4}  {s.name:<16} {s.distance_m * 1e3:>11.1f}  {s.score:>6.2f}  {s.explained:>9.0%}  "
                  f"{s.absent} of {s.expected}")
    if not found:
        print("calterm: identify: no calibrant explains half of the image's ring peaks "
              "(wavelength, detector or pixel size wrong?)", file=sys.stderr)
        return 1
    return 0
