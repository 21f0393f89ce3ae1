"""`calterm calibrate IMAGE`: automatic geometry calibration from a calibrant image.

Exit 0 when the fit is good; 1 when it fails or is doubtful (the reason on stderr; with --json
the summary is still printed, with the verdict, so scripts can inspect it); 2 on bad input.
Outputs are written only after a successful calibration, atomically and versioned.
"""

from __future__ import annotations

import sys

from calterm.cli.common import add_image_options, print_json
from calterm.core.calibrate.model import PEAK_METHODS, CalibrationRequest, ControlPoint
from calterm.core.common.calibrants import wavelength_m
from calterm.core.common.geometry import PARAMS, Constraints
from calterm.core.io.versions import check_writable
from calterm.errors import InputError
from calterm.inputs.values import parse_names, parse_xy


def add_parser(sub):
    p = sub.add_parser("calibrate", help="calibrate the detector geometry from a calibrant image",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="calibrant image (any format fabio reads; FILE.h5::/path for HDF5)")
    p.add_argument("--calibrant", required=True, help="pyFAI calibrant name or d-spacing file (.D)")
    wl = p.add_mutually_exclusive_group(required=True)
    wl.add_argument("--wavelength", type=float, metavar="ANGSTROM", help="X-ray wavelength in Å")
    wl.add_argument("--energy", type=float, metavar="KEV", help="X-ray energy in keV")
    add_image_options(p)
    p.add_argument("--distance", type=float, metavar="MM", help="start value: sample-detector distance in mm")
    p.add_argument("--center", metavar="X,Y", help="start value: beam centre in pixels (x = column, y = row)")
    p.add_argument("--point", action="append", default=[], metavar="X,Y[@RING]",
                   help="control point near a ring (ring number 1-based); repeatable")
    p.add_argument("--search-size", type=int, default=10, metavar="PX", help="single-peak search window (default 10)")
    p.add_argument("--no-grow", action="store_true", help="do not grow each point into its whole ring")
    p.add_argument("--rings", type=int, metavar="N", help="use at most N rings (default: every resolved ring)")
    p.add_argument("--fix", default="", metavar="PARAM,...", help=f"fix parameters ({', '.join(PARAMS)})")
    p.add_argument("--free", default="", metavar="PARAM,...", help="free parameters (rot3 and wavelength are fixed by default)")
    p.add_argument("--bound", action="append", default=[], metavar="PARAM=LO,HI",
                   help="bounds of a parameter in PONI units (m, rad); repeatable")
    p.add_argument("--peak-method", choices=PEAK_METHODS, default="spokes",
                   help="peak search: spokes (fast, default), massif or blob (pyFAI's pickers)")
    p.add_argument("--delta-2th", type=float, metavar="DEG", help="half-width of the search band around each ring")
    p.add_argument("--i-min-factor", type=float, default=0.1, metavar="F",
                   help="drop peaks weaker than F x the ring's median peak (default 0.1)")
    p.add_argument("--i-max", type=float, metavar="V", help="pixels at or above V are saturated and ignored")
    p.add_argument("--poni", metavar="OUT", help="write the PONI file (versioned, never overwritten)")
    p.add_argument("--history", metavar="CSV", help="write the optimization history")
    p.add_argument("--pattern", metavar="OUT", help="write the integrated 1D pattern (2θ, I) as text")
    p.add_argument("--cake", metavar="OUT", help="write the cake (χ x 2θ) as an image (.tif, .edf, .npy)")
    p.add_argument("--residuals", metavar="CSV", help="write per-point residuals (x, y, ring, Δ2θ)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    return p


def _point(text: str) -> ControlPoint:
    xy, _, ring = text.partition("@")
    x, y = parse_xy(xy)
    if ring:
        try:
            n = int(ring)
        except ValueError:
            raise InputError(f"ring number must be an integer, got {ring!r} in {text!r}") from None
        if n < 1:
            raise InputError(f"ring numbers start at 1, got {n} in {text!r}")
        return ControlPoint(x, y, n)
    return ControlPoint(x, y)


def _bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for item in items:
        name, _, values = item.partition("=")
        try:
            lo, hi = (float(v) for v in values.split(","))
        except ValueError:
            raise InputError(f"bound must be PARAM=LO,HI, got {item!r}") from None
        out[name.strip()] = (lo, hi)
    return out


def request_from_args(args) -> CalibrationRequest:
    constraints = Constraints(bounds=_bounds(args.bound)).with_fixed(parse_names(args.fix), parse_names(args.free))
    Constraints(constraints.fixed, constraints.bounds)  # validate names
    if args.rings is not None and args.rings < 1:
        raise InputError("--rings must be at least 1")
    if args.search_size < 1:
        raise InputError("--search-size must be at least 1 px")
    return CalibrationRequest(
        image_path=args.image, calibrant=args.calibrant,
        wavelength_m=wavelength_m(args.wavelength, args.energy), frame=args.frame, rotate=args.rotate,
        flip=args.flip, detector=args.detector, pixel_size_um=args.pixel_size, mask_path=args.mask,
        distance_mm=args.distance, center_xy=parse_xy(args.center) if args.center else None,
        points=tuple(_point(t) for t in args.point), grow_points=not args.no_grow,
        search_size_px=args.search_size, rings=args.rings, constraints=constraints,
        peak_method=args.peak_method, delta_2th_deg=args.delta_2th, i_min_factor=args.i_min_factor,
        i_max=args.i_max,
    )


def run(args) -> int:
    from calterm.core.calibrate.pipeline import calibrate, write_poni

    request = request_from_args(args)
    for out in (args.poni, args.history, args.pattern, args.cake, args.residuals):
        if out:
            check_writable(out)
    result = calibrate(request)
    summary = result.summary()
    ok = result.verdict.ok
    if ok:
        command = "calterm " + " ".join(sys.argv[1:])
        if args.poni:
            summary["outputs"] = {"poni": str(write_poni(result, args.poni, command))}
        if args.history:
            result.history.write_csv(args.history)
            summary.setdefault("outputs", {})["history"] = args.history
        outputs = summary.setdefault("outputs", {})
        if args.pattern:
            from calterm.core.calibrate.integrate import write_pattern

            write_pattern(result, request, args.pattern)
            outputs["pattern"] = args.pattern
        if args.cake:
            from calterm.core.calibrate.integrate import write_cake

            outputs["cake"] = write_cake(result, request, args.cake)
        if args.residuals:
            from calterm.core.calibrate.integrate import write_residuals

            write_residuals(result, args.residuals)
            outputs["residuals"] = args.residuals
    if args.json:
        print_json(summary)
    else:
        _print_report(result)
    if not ok:
        print(f"calterm: calibration {result.verdict.status}: {'; '.join(result.verdict.reasons)}"
              + (" (nothing written)" if args.poni or args.history else ""), file=sys.stderr)
        return 1
    return 0


def _print_report(result) -> None:
    g, f = result.geometry, result.fit2d
    sig = result.sigma
    print(f"verdict: {result.verdict.status}: {'; '.join(result.verdict.reasons)}")
    print(f"detector {result.detector_name}, calibrant {result.calibrant}, {result.rows.size} points on {len(result.rings)} rings, "
          f"RMS 2θ {result.rms_2th_deg:.5f}°")
    for name in ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength"):
        err = f" ± {sig[name]:.2e}" if name in sig else " (fixed)"
        print(f"  {name:10s} {getattr(g, name):.8g}{err}")
    print(f"Fit2D: distance {f['directDist']:.3f} mm, centre x {f['centerX']:.3f} y {f['centerY']:.3f} px, "
          f"tilt {f['tilt']:.4f}°, tilt plane {f['tiltPlanRotation']:.3f}°")
