"""`calterm mask --average A --std S [--bright-max B] -o MASK [--json]`: a pixel mask from dark-run statistics.

Default rule (cxi.make_dials_mask): good when 0 < average <= 2000, 0 < std <= 10 (of a dark run) and,
given a bright run's maximum, bright max >= 300. ``--max`` is refused with one line (which run's
maximum?), ``--max-min`` points to ``--bright-max-min``. A mask whose pixel rules flag more than
``--max-share`` (20 %) of the detector is refused (exit 1, nothing written) unless ``--force``.
Output 1 = masked (pyFAI, Dioptas) unless --good; EDF (.edf, Dioptas .mask), TIFF or NPY; versioned.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from calterm.cli.common import print_json
from calterm.core.health.mask import build_mask_from_files, mask_provenance, share_problem, write_mask_output
from calterm.errors import ComputationError, InputError
from calterm.inputs.health import MASK_BOUNDS, mask_output, mask_request

BOUNDS = (("average-min", 0.0, "good when average > this"), ("average-max", 2000.0, "good when average <= this"),
          ("std-min", 0.0, "good when std > this"), ("std-max", 10.0, "good when std <= this"),
          ("bright-max-min", 300.0, "good when the bright run's max >= this"))


def add_parser(sub):
    p = sub.add_parser("mask", help="pixel mask from average/std/max images, ranges, detector and mask files",
                       description="A pixel is good when every rule holds (defaults as cxi.make_dials_mask). "
                       "Bounds take a number or 'none' to switch a rule off.")
    p.add_argument("--average", metavar="A", help="average image of a dark run")
    p.add_argument("--std", metavar="S", help="standard deviation image of a dark run")
    p.add_argument("--bright-max", metavar="B", help="maximum image of a bright run (flat field, powder): "
                   "pixels that never reach --bright-max-min are dead")
    p.add_argument("--max", metavar="M", help=argparse.SUPPRESS)  # refused with one line: which run's?
    p.add_argument("--max-min", metavar="V", help=argparse.SUPPRESS)  # renamed --bright-max-min
    p.add_argument("-o", "--output", required=True, metavar="MASK", help="mask to write (.edf, .mask, .tif, .npy)")
    for name, default, text in BOUNDS:
        p.add_argument(f"--{name}", type=str, default=str(default), metavar="V", help=f"{text} (default {default})")
    p.add_argument("--average-sigma", metavar="K", help="also mask average outside detector mean +- K sigma")
    p.add_argument("--std-sigma", metavar="K", help="also mask std outside detector mean +- K sigma")
    p.add_argument("--border", default="0", metavar="N", help="mask N pixels at each module edge")
    p.add_argument("--layout", metavar="FILE", help="modules for --border (lines 'NAME X0 Y0 X1 Y1' or JSON)")
    p.add_argument("--poni", metavar="FILE", help="geometry for the 2theta/q/d ranges (its detector's mask is added)")
    p.add_argument("--spline", metavar="FILE", help="Fit2D spline file of the detector's distortion for the "
                   "ranges (pyFAI's model; replaces a spline the PONI names)")
    p.add_argument("--tth-range", metavar="LO,HI", help="keep 2theta in LO..HI degrees")
    p.add_argument("--q-range", metavar="LO,HI", help="keep q in LO..HI 1/nm")
    p.add_argument("--d-range", metavar="LO,HI", help="keep d-spacing in LO..HI angstrom")
    p.add_argument("--detector", metavar="NAME", help="add this pyFAI detector's own mask (gaps)")
    p.add_argument("--combine", action="append", default=[], metavar="FILE",
                   help="existing mask file to combine (EDF, Dioptas .mask, TIFF, NPY; nonzero = masked)")
    p.add_argument("--combine-mode", choices=("union", "intersection"), default="union",
                   help="union: masked by any; intersection: masked by the rules and every file")
    p.add_argument("--combine-good", action="store_true", help="the --combine files use 1 = good")
    p.add_argument("--good", action="store_true", help="write 1 = good instead of 1 = masked")
    p.add_argument("--max-share", default="20", metavar="PCT",
                   help="refuse a mask whose pixel rules flag more than PCT %% of the detector ('none': no limit)")
    p.add_argument("--force", action="store_true", help="write a mask over --max-share anyway (with a warning)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def run(args) -> int:
    if args.max_min is not None:
        raise InputError("--max-min is now --bright-max-min: the threshold is for a bright run's maximum (--bright-max)")
    out = mask_output(args.output)  # checked before any image is read
    request = mask_request(average=args.average, std=args.std, bright_max=args.bright_max, maximum=args.max,
                           bounds={key: getattr(args, key) for key in MASK_BOUNDS},
                           average_sigma=args.average_sigma, std_sigma=args.std_sigma, border=args.border,
                           layout=args.layout, poni=args.poni, tth_range=args.tth_range, q_range=args.q_range,
                           d_range=args.d_range, detector=args.detector, spline=args.spline, combine=args.combine,
                           combine_mode=args.combine_mode, combine_good=args.combine_good, good=args.good,
                           max_share=args.max_share, force=args.force)
    result = build_mask_from_files(request.sources, request.rules)
    problem = share_problem(result, request.rules, request.max_share)
    if problem and not request.force:
        raise ComputationError(f"{problem} (nothing written; --force writes it)")
    if problem:
        print(f"calterm: warning: {problem}", file=sys.stderr)
    version = write_mask_output(result, out, good=request.good, command="calterm mask",
                                inputs=mask_provenance(request.sources, request.rules))
    report = {**result.report(), "convention": "1 = good" if args.good else "1 = masked",
              "output": str(out), "version": str(version), "share_limit": request.max_share,
              "over_share_limit": problem is not None}
    if args.json:
        print_json(report)
    else:
        print(f"{result.masked} of {result.mask.size} pixels masked ({100 * report['masked_fraction']:.2f} %) -> "
              f"{out} ({Path(version).name}, {report['convention']})")
        for name, n in result.counts.items():
            print(f"  {name:>16}: {n}")
        if result.spline:
            print(f"  {'spline':>16}: {spline_text(result.spline)}")
    return 0


def spline_text(spline: dict) -> str:
    """Which spline file placed the pixels for the ranges, and whose it is."""
    if spline["source"] == "poni":
        return f"{spline['file']} (the PONI's)"
    return spline["file"] + (f" (--spline; replaces the PONI's {spline['replaces']})" if spline["replaces"] else "")
