"""`calterm align IMAGE --center X,Y --panels quadrants|LAYOUT [--json]`: quadrant / panel alignment.

``shift`` is the displacement of each panel's content from where it belongs (x = column, y = row,
pixels): moving the panel by -shift aligns it. Best on a max or average image of a powder run.
"""

from __future__ import annotations

from calterm.cli.common import print_json
from calterm.core.health.alignment import align_from_files, alignment_provenance, write_alignment_outputs
from calterm.inputs.health import align_request


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
    p.add_argument("--frame", default="0", help="frame index in a multi-frame file (default 0)")
    p.add_argument("--search", default="20", metavar="PX", help="largest shift searched (default 20 px)")
    p.add_argument("--corrected", metavar="PATH", help="write the image with every panel moved by -shift")
    p.add_argument("--offsets", metavar="PATH", help="write the panel shifts as a JSON geometry file (.json)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args) -> int:
    request = align_request(image=args.image, center=args.center, panels=args.panels, mask=args.mask,
                            frame=args.frame, search=args.search, corrected=args.corrected,
                            offsets=args.offsets)  # outputs checked before the image is read
    run = align_from_files(request.sources)
    report = {**run.report(), "image": args.image}
    written = write_alignment_outputs(run, corrected=request.corrected, offsets=request.offsets,
                                      command="calterm align", inputs=alignment_provenance(request.sources))
    report.update({name: str(path) for name, path in written.items()})
    if args.json:
        print_json(report)
    else:
        print(f"{'panel':<16} {'dx':>8} {'dy':>8} {'cc before':>10} {'cc after':>9}")
        for p in run.result.panels:
            print(f"{p.name:<16} {p.shift[0]:8.2f} {p.shift[1]:8.2f} {p.cc_before:10.4f} {p.cc:9.4f}")
        print(f"average cc {run.result.cc_before:.4f} -> {run.result.cc_after:.4f}")
    return 0
