"""`calterm mask --average A --std S --max M -o MASK [--json]`: a pixel mask from dark-run statistics.

Default rule (cxi.make_dials_mask): good when 0 < average <= 2000, 0 < std <= 10, max >= 300.
Output 1 = masked (pyFAI, Dioptas) unless --good; EDF (.edf, Dioptas .mask), TIFF or NPY; versioned.
"""

from __future__ import annotations

import math
from pathlib import Path

from calterm.cli.common import print_json
from calterm.core.common.panel_layouts import load_layout
from calterm.core.health.mask import MaskRules, build_mask
from calterm.core.io.images import load_mask, read_array, write_image
from calterm.core.io.versions import write_versioned
from calterm.errors import InputError
from calterm.inputs.values import parse_range

BOUNDS = (("average-min", 0.0, "good when average > this"), ("average-max", 2000.0, "good when average <= this"),
          ("std-min", 0.0, "good when std > this"), ("std-max", 10.0, "good when std <= this"),
          ("max-min", 300.0, "good when max >= this"))


def _bound(text: str) -> float | None:
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"expected a number or 'none', got {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"bound must be finite, got {text!r}")
    return value



def add_parser(sub):
    p = sub.add_parser("mask", help="pixel mask from average/std/max images, ranges, detector and mask files",
                       description="A pixel is good when every rule holds (defaults as cxi.make_dials_mask). "
                       "Bounds take a number or 'none' to switch a rule off.")
    p.add_argument("--average", metavar="A", help="average image of a dark run")
    p.add_argument("--std", metavar="S", help="standard deviation image of a dark run")
    p.add_argument("--max", metavar="M", help="maximum image (of a dark or a bright run)")
    p.add_argument("-o", "--output", required=True, metavar="MASK", help="mask to write (.edf, .mask, .tif, .npy)")
    for name, default, text in BOUNDS:
        p.add_argument(f"--{name}", type=str, default=str(default), metavar="V", help=f"{text} (default {default})")
    p.add_argument("--average-sigma", type=float, metavar="K", help="also mask average outside detector mean +- K sigma")
    p.add_argument("--std-sigma", type=float, metavar="K", help="also mask std outside detector mean +- K sigma")
    p.add_argument("--border", type=int, default=0, metavar="N", help="mask N pixels at each module edge")
    p.add_argument("--layout", metavar="FILE", help="modules for --border (lines 'NAME X0 Y0 X1 Y1' or JSON)")
    p.add_argument("--poni", metavar="FILE", help="geometry for the 2theta/q/d ranges (its detector's mask is added)")
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
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def _stat_image(path: str | None):
    if path is None:
        return None
    raw, _ = read_array(path)  # raw values: a dark average may be negative (pedestal-subtracted data)
    if raw.ndim != 2 or raw.dtype.kind not in "biuf":
        raise InputError(f"{path}: expected a 2D numeric image, got shape {raw.shape} of {raw.dtype}")
    return raw.astype(float)


def run(args) -> int:
    out = Path(args.output)
    if out.suffix.lower() not in (".edf", ".mask", ".tif", ".tiff", ".npy"):
        raise InputError(f"{out}: unknown mask format {out.suffix!r} (use .edf, .mask, .tif or .npy)")
    images = {k: _stat_image(getattr(args, k)) for k in ("average", "std", "max")}
    shape = next((img.shape for img in images.values() if img is not None), None)
    if shape is None and args.combine:
        shape = read_array(args.combine[0])[0].shape[-2:]
    geometry = detector = None
    if args.poni:
        from calterm.core.common.geometry import load_poni

        geometry, detector = load_poni(args.poni)
        if shape is None and detector.shape is not None:
            shape = tuple(detector.shape)
    if shape is None:
        raise InputError("give --average, --std, --max, --combine or a --poni with a detector shape")
    det_mask = None
    if args.detector:
        from calterm.core.common.detectors import resolve_detector

        det = resolve_detector(shape, args.detector).detector
        det_mask = det.mask
    elif detector is not None:
        det_mask = detector.mask
    if det_mask is not None and tuple(det_mask.shape) != tuple(shape):
        raise InputError(f"detector mask shape {tuple(det_mask.shape)} does not match the images {tuple(shape)}")
    bounds = {name.replace("-", "_"): _bound(getattr(args, name.replace("-", "_"))) for name, _, _ in BOUNDS}
    rules = MaskRules(**bounds, average_sigma=args.average_sigma, std_sigma=args.std_sigma, border=args.border,
                      tth_range_deg=parse_range(args.tth_range), q_range_nm=parse_range(args.q_range),
                      d_range_A=parse_range(args.d_range))
    files = []
    for path in args.combine:
        m = load_mask(path, shape)
        files.append((Path(path).name, ~m if args.combine_good else m))
    modules = load_layout(args.layout, shape) if args.layout else None
    result = build_mask(shape, rules, average=images["average"], std=images["std"], maximum=images["max"],
                        detector_mask=det_mask, modules=modules, geometry=geometry, detector=detector,
                        files=files, combine=args.combine_mode)
    data = result.as_output(good=args.good)
    inputs = {k: getattr(args, k) for k in ("average", "std", "max", "poni", "detector", "layout", "combine")}
    inputs["rules"] = {**bounds, "average_sigma": args.average_sigma, "std_sigma": args.std_sigma,
                       "border": args.border, "tth_range": args.tth_range, "q_range": args.q_range,
                       "d_range": args.d_range, "combine_mode": args.combine_mode}
    version = write_versioned(out, lambda tmp: write_image(tmp, data), command="calterm mask", inputs=inputs)
    report = {**result.report(), "convention": "1 = good" if args.good else "1 = masked",
              "output": str(out), "version": str(version)}
    if args.json:
        print_json(report)
    else:
        print(f"{result.masked} of {data.size} pixels masked ({100 * report['masked_fraction']:.2f} %) -> "
              f"{out} ({Path(version).name}, {report['convention']})")
        for name, n in result.counts.items():
            print(f"  {name:>16}: {n}")
    return 0
