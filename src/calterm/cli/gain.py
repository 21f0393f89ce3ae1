"""`calterm gain`: a gain map from amorphous scattering measured at three or more positions.

Each position is ``--position FRAMES_GLOB --calibration FILE`` (PONI or GSAS-II .imctrl), in the
same order; or ``--folder DIR`` with one subfolder per position holding its frames and one
calibration file. Writes ``NAME_YYYY-MM-DD.tif`` (the map), ``..._unfiltered.tif``,
``..._damaged_mask.tif``, ``..._uncertainty.tif`` and ``..._report.json``, all versioned.
"""

from __future__ import annotations

import sys

from calterm.cli.common import print_json


def add_parser(sub):
    p = sub.add_parser("gain", help="gain map from amorphous scattering at several detector positions",
                       description=__doc__.split("\n\n", 1)[1])
    src = p.add_argument_group("positions (three or more)")
    src.add_argument("--position", action="append", default=[], metavar="FRAMES_GLOB",
                     help="frames of one position (quote the glob); repeat per position")
    src.add_argument("--calibration", action="append", default=[], metavar="FILE",
                     help="PONI or GSAS-II .imctrl file of the position given in the same order")
    src.add_argument("--folder", metavar="DIR", help="one subfolder per position: frames + one .poni/.imctrl")
    src.add_argument("--detector", help="detector name for .imctrl files (default: chosen by image shape)")
    src.add_argument("--pixel-size", metavar="UM", help="pixel size in µm for .imctrl files")
    src.add_argument("--spline", metavar="FILE", help="Fit2D spline file of the detector's distortion (pyFAI's "
                     "model), for every position; replaces a spline a PONI names")
    src.add_argument("--mask", metavar="FILE", help="mask file (nonzero = excluded), e.g. the beam stop")
    m = p.add_argument_group("method")
    m.add_argument("--range", metavar="TTH_MIN,TTH_MAX", help="2θ range (deg) of the extrapolation fit (default: suggested)")
    m.add_argument("--extrapolate", choices=("sparse", "range"), default="sparse",
                   help="where the fit replaces the profile: bins the positions barely fill (default), "
                        "or everything above TTH_MAX (the reference method's rule)")
    m.add_argument("--degree", default="1", choices=("1", "2", "3"), help="degree of the fitted polynomial (default 1)")
    m.add_argument("--bins", help="number of 2θ bins (default: the smaller image dimension)")
    m.add_argument("--polarization", default="0.99", metavar="P", help="polarization factor (default 0.99)")
    m.add_argument("--beamstop-threshold", default="0.5", metavar="F",
                   help="pixels below F x the expected level are beam-stop shadow (default 0.5)")
    m.add_argument("--iterations", default="300", metavar="N",
                   help="at most N solver iterations for the gain and profiles (0 = single pass; default 300)")
    m.add_argument("--tolerance", default="1e-3",
                   help="the solve stops when its gradient is below this fraction of its start (default 1e-3)")
    m.add_argument("--filter-size", default="3", metavar="K",
                   help="median-filter window, odd: point-spread width (3 Pilatus, about 9 a-Si; default 3)")
    m.add_argument("--damaged-sigma", default="4", metavar="S",
                   help="damaged = more than S robust σ from the local median (default 4)")
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", required=True, metavar="NAME", help="output name; the date is appended")
    out.add_argument("--form", choices=("divide", "multiply"), default="divide",
                     help="divide: corrected = data / map (default); multiply: corrected = data x map")
    out.add_argument("--date", help="date in the file names, YYYY-MM-DD (default today)")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def run(args) -> int:
    from calterm.core.common.jobs import JobContext
    from calterm.core.gain.files import gain_provenance, write_outputs
    from calterm.core.gain.run import run_gain
    from calterm.inputs.gain import gain_output, gain_request, position_pairs

    base = gain_output(args.output, args.date)  # every output checked before a frame is read
    request = gain_request(positions=position_pairs(args.position, args.calibration), folder=args.folder,
                           detector=args.detector, pixel_size=args.pixel_size, mask=args.mask,
                           tth_range=args.range, extrapolate=args.extrapolate, degree=args.degree, bins=args.bins,
                           polarization=args.polarization, beamstop_threshold=args.beamstop_threshold,
                           iterations=args.iterations, tolerance=args.tolerance, filter_size=args.filter_size,
                           damaged_sigma=args.damaged_sigma, form=args.form, spline=args.spline)
    run = run_gain(list(request.specs), request.options, request.form, detector_name=request.detector,
                   pixel_size_um=request.pixel_size_um, mask_path=request.mask, ctx=JobContext())
    result, report = run.result, run.report
    command = "calterm " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("calterm") else "calterm gain"
    written = write_outputs(base, result.images(request.form), report, command,
                            gain_provenance(list(request.specs), request.form))
    outputs = {k: v["path"] for k, v in written.items()}
    if args.json:
        summary = {k: v for k, v in report.items() if k != "profile"}
        summary["outputs"] = outputs
        summary["versions"] = {k: v["version"] for k, v in written.items()}
        print_json(summary)
    else:
        lo, hi = result.tth_range
        how = "suggested" if result.range_suggested else "given"
        unc = report["median_uncertainty"]
        print(f"gain map from {len(run.positions)} positions: extrapolation range {lo:.3f}-{hi:.3f}° ({how}), "
              f"{len(result.changes)} solver iterations, {int(result.damaged.sum())} damaged pixels, "
              f"median uncertainty {'-' if unc is None else f'{unc:.2%}'}")
        single = report["single_position_pixels"]
        if single:  # their gain fits any profile: nothing checks them (uncertainty inf in the map)
            print(f"  warning: {single} pixels measured at one position only (unchecked; infinite uncertainty)",
                  file=sys.stderr)
        for note in dict.fromkeys(n for p in run.positions for n in p.notes if n.startswith("spline ")):
            print(f"  {note}")  # which distortion placed the pixels (the typed one wins over a PONI's)
        for key, path in outputs.items():
            print(f"  {key:13s} {path}")
    return 0
