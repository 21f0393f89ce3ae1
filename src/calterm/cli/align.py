"""`calterm align IMAGE [--center X,Y] [--poni P --calibrant C] [--panels LAYOUT] [--geom OUT] [--json]`:
panel alignment.

With a calibration (``--poni``) and its calibrant, every panel's offset is fitted with the common
geometry from the ring peaks (the ring fit): each offset with its σ, "significant" beyond 3σ.
Without, rotational self-correlation about ``--center`` (which reads a tilt as shifts: the output
says so). ``shift`` is the displacement of each panel's content from where it belongs (x = column,
y = row, pixels): moving the panel by -shift aligns it. Best on a max or average image of a powder run.
"""

from __future__ import annotations

from calterm.cli.common import print_json
from calterm.core.health.alignment import align_from_files, alignment_provenance, write_alignment_outputs
from calterm.inputs.align import align_request


def add_parser(sub):
    p = sub.add_parser("align", help="align detector quadrants/panels on powder rings (sub-pixel)",
                       description="With --poni and --calibrant: each panel's offset fitted with the common "
                       "geometry from the ring peaks, with its uncertainty. Without: the displacement of each "
                       "panel's content that best matches the panel rotated about the beam centre.")
    p.add_argument("image", metavar="IMAGE", help="powder image (a max or average of a bright run)")
    p.add_argument("--center", metavar="X,Y", help="beam centre in pixels (x = column, y = row; default: the PONI's)")
    p.add_argument("--poni", metavar="FILE", help="calibration of this detector (PONI file): enables the ring fit")
    p.add_argument("--calibrant", metavar="NAME|FILE", help="calibrant of the image (pyFAI name or d-spacing file)")
    p.add_argument("--wavelength", metavar="ANGSTROM", help="X-ray wavelength in Å (default: the PONI's)")
    p.add_argument("--rotations", action="store_true", help="fit each panel's in-plane rotation too (ring fit)")
    p.add_argument("--anisotropy", action="store_true",
                   help="fit a common anisotropic magnification too (ring fit): a CCD taper or unequal pixel pitches")
    p.add_argument("--panels", default="quadrants", metavar="LAYOUT",
                   help="quadrants, halves, halves-tb, modules (the PONI detector's modules between gaps), "
                   "grid:RxC (e.g. grid:8x8, CSPad-like), or a layout file (lines 'NAME X0 Y0 X1 Y1' or JSON)")
    p.add_argument("--mask", metavar="FILE", help="mask file (nonzero = masked; EDF, Dioptas .mask, TIFF, NPY)")
    p.add_argument("--frame", default="0", help="frame index in a multi-frame file (default 0)")
    p.add_argument("--search", default="20", metavar="PX", help="largest shift searched (default 20 px)")
    p.add_argument("--corrected", metavar="PATH", help="write the image with every panel moved back")
    p.add_argument("--offsets", metavar="PATH", help="write the panel shifts as a JSON geometry file (.json)")
    p.add_argument("--geom", metavar="PATH", help="write the per-panel geometry as a CrystFEL file (.geom; needs --poni)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args) -> int:
    request = align_request(image=args.image, center=args.center, panels=args.panels, mask=args.mask,
                            frame=args.frame, search=args.search, poni=args.poni, calibrant=args.calibrant,
                            wavelength=args.wavelength, rotations=args.rotations, anisotropy=args.anisotropy,
                            corrected=args.corrected,
                            offsets=args.offsets, geom=args.geom)  # outputs checked before the image is read
    run = align_from_files(request.sources)
    report = {**run.report(), "image": args.image}
    written = write_alignment_outputs(run, corrected=request.corrected, offsets=request.offsets, geom=request.geom,
                                      command="calterm align", inputs=alignment_provenance(request.sources))
    report.update({name: str(path) for name, path in written.items()})
    if args.json:
        print_json(report)
        return 0
    if run.fit is not None:
        fit = run.fit
        print(f"ring fit: {fit.n_points} ring peaks, residual {fit.rms_px:.3f} px RMS; shifts relative to the "
              "panels' mean (the common part is the PONI's)")
        rot = "  rot deg ±σ" if fit.rotations else ""
        print(f"{'panel':<16} {'dx':>8} {'±σ':>7} {'dy':>8} {'±σ':>7}{rot}  verdict")
        for p in fit.panels:
            extra = f"  {p.rot_deg:+.4f} ±{p.sigma_rot_deg:.4f}" if fit.rotations else ""
            print(f"{p.name:<16} {p.shift[0]:8.3f} {p.sigma[0]:7.3f} {p.shift[1]:8.3f} {p.sigma[1]:7.3f}{extra}  "
                  f"{p.verdict}")
    else:
        print(f"{'panel':<16} {'dx':>8} {'dy':>8} {'cc before':>10} {'cc after':>9}")
        for p in run.result.panels:
            print(f"{p.name:<16} {p.shift[0]:8.2f} {p.shift[1]:8.2f} {p.cc_before:10.4f} {p.cc:9.4f}")
        print(f"average cc {run.result.cc_before:.4f} -> {run.result.cc_after:.4f}")
    for warning in run.warnings:
        print(f"warning: {warning}")
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0
