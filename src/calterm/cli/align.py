"""`calterm align IMAGE --center X,Y --panels quadrants|LAYOUT [--json]`: quadrant / panel alignment.

``shift`` is the displacement of each panel's content from where it belongs (x = column, y = row,
pixels): moving the panel by -shift aligns it. Best on a max or average image of a powder run.
"""

from __future__ import annotations

import json
from pathlib import Path

from calterm.cli.common import print_json
from calterm.core.common.panel_layouts import load_layout, quadrants
from calterm.core.health.alignment import align_panels, corrected_image
from calterm.core.io.images import load_image, load_mask, write_image
from calterm.core.io.versions import write_versioned
from calterm.errors import InputError
from calterm.inputs.values import parse_xy


def add_parser(sub):
    p = sub.add_parser("align", help="align detector quadrants/panels on powder rings (sub-pixel)",
                       description="For each panel, the displacement of its content that best matches the "
                       "panel with itself rotated about the beam centre (several angles).")
    p.add_argument("image", metavar="IMAGE", help="powder image (a max or average of a bright run)")
    p.add_argument("--center", required=True, metavar="X,Y", help="beam centre in pixels (x = column, y = row)")
    p.add_argument("--panels", default="quadrants", metavar="quadrants|LAYOUT",
                   help="'quadrants' (split at the middle row and column) or a layout file "
                   "(lines 'NAME X0 Y0 X1 Y1' or JSON)")
    p.add_argument("--mask", metavar="FILE", help="mask file (nonzero = masked; EDF, Dioptas .mask, TIFF, NPY)")
    p.add_argument("--frame", type=int, default=0, help="frame index in a multi-frame file (default 0)")
    p.add_argument("--search", type=float, default=20.0, metavar="PX", help="largest shift searched (default 20 px)")
    p.add_argument("--corrected", metavar="PATH", help="write the image with every panel moved by -shift")
    p.add_argument("--offsets", metavar="PATH", help="write the panel shifts as a JSON geometry file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args) -> int:
    center = parse_xy(args.center)
    img = load_image(args.image, frame=args.frame)
    h, w = img.shape
    if not (0 <= center[0] <= w - 1 and 0 <= center[1] <= h - 1):
        raise InputError(f"centre {args.center} lies outside the {w}x{h} image")
    panels = quadrants(img.shape) if args.panels == "quadrants" else load_layout(args.panels, img.shape)
    valid = ~img.invalid
    if args.mask:
        valid &= ~load_mask(args.mask, img.shape)
    for path in (args.corrected, args.offsets):
        if path and not Path(path).resolve().parent.is_dir():
            raise InputError(f"{path}: directory does not exist")
    result = align_panels(img.data, panels, center, valid=valid, search_px=args.search)
    report = {**result.report(), "center": list(center), "image": args.image}
    inputs = {"image": args.image, "center": list(center), "panels": args.panels, "mask": args.mask}
    if args.corrected:
        fixed = corrected_image(img.data, panels, result)
        report["corrected"] = str(write_versioned(args.corrected, lambda tmp: write_image(tmp, fixed),
                                                  command="calterm align --corrected", inputs=inputs))
    if args.offsets:
        doc = {"center": list(center), "units": "pixels; x = column, y = row; move each panel by correction",
               "panels": [{**panel.as_dict(), "shift": list(r.shift), "correction": [-r.shift[0], -r.shift[1]],
                           "cc": r.cc} for panel, r in zip(panels, result.panels, strict=True)]}
        text = json.dumps(doc, indent=2) + "\n"
        report["offsets"] = str(write_versioned(args.offsets, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                                                command="calterm align --offsets", inputs=inputs))
    if args.json:
        print_json(report)
    else:
        print(f"{'panel':<16} {'dx':>8} {'dy':>8} {'cc before':>10} {'cc after':>9}")
        for p in result.panels:
            print(f"{p.name:<16} {p.shift[0]:8.2f} {p.shift[1]:8.2f} {p.cc_before:10.4f} {p.cc:9.4f}")
        print(f"average cc {result.cc_before:.4f} -> {result.cc_after:.4f}")
    return 0
