"""`calterm gain`: a gain map from amorphous scattering measured at three or more positions.

Each position is ``--position FRAMES_GLOB --calibration FILE`` (PONI or GSAS-II .imctrl), in the
same order; or ``--folder DIR`` with one subfolder per position holding its frames and one
calibration file. Writes ``NAME_YYYY-MM-DD.tif`` (the map), ``..._unfiltered.tif``,
``..._damaged_mask.tif``, ``..._uncertainty.tif`` and ``..._report.json``, all versioned.
"""

from __future__ import annotations

import datetime as _dt
import sys
import time

from calterm.cli.common import print_json
from calterm.errors import InputError


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
    src.add_argument("--pixel-size", type=float, metavar="UM", help="pixel size in µm for .imctrl files")
    src.add_argument("--mask", metavar="FILE", help="mask file (nonzero = excluded), e.g. the beam stop")
    m = p.add_argument_group("method")
    m.add_argument("--range", metavar="TTH_MIN,TTH_MAX", help="2θ range (deg) of the extrapolation fit (default: suggested)")
    m.add_argument("--extrapolate", choices=("sparse", "range"), default="sparse",
                   help="where the fit replaces the profile: bins the positions barely fill (default), "
                        "or everything above TTH_MAX (the reference method's rule)")
    m.add_argument("--degree", type=int, default=1, choices=(1, 2, 3), help="degree of the fitted polynomial (default 1)")
    m.add_argument("--bins", type=int, help="number of 2θ bins (default: the smaller image dimension)")
    m.add_argument("--polarization", type=float, default=0.99, metavar="P", help="polarization factor (default 0.99)")
    m.add_argument("--beamstop-threshold", type=float, default=0.5, metavar="F",
                   help="pixels below F x the expected level are beam-stop shadow (default 0.5)")
    m.add_argument("--iterations", type=int, default=5, metavar="N",
                   help="at most N profile re-estimations from gain-corrected images (0 = single pass; default 5)")
    m.add_argument("--tolerance", type=float, default=1e-3, help="RMS change of the map that stops iterating")
    m.add_argument("--filter-size", type=int, default=3, metavar="K",
                   help="median-filter window, odd: point-spread width (3 Pilatus, about 9 a-Si; default 3)")
    m.add_argument("--damaged-sigma", type=float, default=4.0, metavar="S",
                   help="damaged = more than S robust σ from the local median (default 4)")
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", required=True, metavar="NAME", help="output name; the date is appended")
    out.add_argument("--form", choices=("divide", "multiply"), default="divide",
                     help="divide: corrected = data / map (default); multiply: corrected = data x map")
    out.add_argument("--date", help="date in the file names, YYYY-MM-DD (default today)")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _specs(args):
    from calterm.core.gain.files import PositionSpec, folder_positions

    if args.folder:
        if args.position or args.calibration:
            raise InputError("give either --folder or --position/--calibration pairs, not both")
        return folder_positions(args.folder)
    if len(args.position) != len(args.calibration):
        raise InputError(f"{len(args.position)} --position but {len(args.calibration)} --calibration; give one per position")
    if not args.position:
        raise InputError("no positions: give --position GLOB --calibration FILE (three or more) or --folder DIR")
    return [PositionSpec(f, c) for f, c in zip(args.position, args.calibration, strict=True)]


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--range must be TTH_MIN,TTH_MAX in degrees, not {text!r}") from None
    return lo, hi


def _parse_date(text: str | None) -> _dt.date | None:
    if not text:
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date must be YYYY-MM-DD, not {text!r}") from None


def run(args) -> int:
    from calterm.core.common.jobs import JobContext
    from calterm.core.gain.files import dated_name, load_positions, write_outputs
    from calterm.core.gain.gain_map import MIN_POSITIONS, GainOptions, compute_gain_map
    from calterm.core.io.images import load_mask

    specs = _specs(args)
    if len(specs) < MIN_POSITIONS:
        raise InputError(f"a gain map needs at least {MIN_POSITIONS} positions, got {len(specs)}")
    tth_range = _parse_range(args.range)
    date = _parse_date(args.date)
    started = time.perf_counter()
    ctx = JobContext()
    positions, detector = load_positions(specs, args.detector, args.pixel_size, ctx)
    mask = load_mask(args.mask, positions[0].image.shape) if args.mask else None
    options = GainOptions(polarization=args.polarization, bins=args.bins, tth_range=tth_range, degree=args.degree,
                          extrapolate=args.extrapolate, filter_size=args.filter_size,
                          damaged_sigma=args.damaged_sigma, beamstop_threshold=args.beamstop_threshold,
                          iterations=args.iterations, tolerance=args.tolerance, mask=mask)
    result = compute_gain_map(positions, detector, options, ctx)
    report = result.report()
    report["form"] = args.form
    report["inputs"] = [{"frames": p.frames, "calibration": p.calibration, "notes": p.notes} for p in positions]
    report["elapsed_s"] = round(time.perf_counter() - started, 3)
    base = dated_name(args.output, date)
    command = "calterm " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("calterm") else "calterm gain"
    written = write_outputs(base, result.images(args.form), report, command,
                            {"positions": [vars(s) for s in specs], "form": args.form})
    outputs = {k: v["path"] for k, v in written.items()}
    if args.json:
        summary = {k: v for k, v in report.items() if k != "profile"}
        summary["outputs"] = outputs
        summary["versions"] = {k: v["version"] for k, v in written.items()}
        print_json(summary)
    else:
        lo, hi = result.tth_range
        how = "suggested" if result.range_suggested else "given"
        print(f"gain map from {len(positions)} positions: extrapolation range {lo:.3f}-{hi:.3f}° ({how}), "
              f"{len(result.changes)} passes, {int(result.damaged.sum())} damaged pixels, "
              f"median uncertainty {report['median_uncertainty']:.2%}")
        for key, path in outputs.items():
            print(f"  {key:13s} {path}")
    return 0
