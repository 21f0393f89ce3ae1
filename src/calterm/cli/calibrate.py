"""`calterm calibrate IMAGE`: automatic geometry calibration from a calibrant image.

Exit 0 when the fit is good; 1 when it fails or is doubtful (the reason on stderr; with --json
the summary is still printed, with the verdict, so scripts can inspect it); 2 on bad input.
Every output path is checked before the calibration starts (exit 2, nothing written); the files
are written only after a successful calibration, atomically and versioned.
"""

from __future__ import annotations

import sys

from calterm.cli.common import add_image_options, add_wavelength_options, print_json
from calterm.core.calibrate.model import PEAK_METHODS, CalibrationRequest
from calterm.core.common.geometry import PARAMS
from calterm.inputs.calibrate import OUTPUT_KINDS, calibration_outputs, calibration_request


def add_parser(sub):
    p = sub.add_parser("calibrate", help="calibrate the detector geometry from a calibrant image",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="calibrant image (any format fabio reads; FILE.h5::/path for HDF5)")
    p.add_argument("--calibrant", required=True, help="pyFAI calibrant name or d-spacing file (.D)")
    # neither: the image header's (mar345, ADSC, miniCBF, Eiger/NeXus, EDF)
    add_wavelength_options(p, "X-ray wavelength in Å (default: the image header's)")
    add_image_options(p)
    p.add_argument("--distance", metavar="MM", help="start value: sample-detector distance in mm")
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
    p.add_argument("--spline", metavar="FILE", help="Fit2D spline file of a distorting detector (pyFAI's model)")
    p.add_argument("--fit-distortion", action="store_true", default=None,
                   help="fit a smooth detector distortion with the geometry, written as NAME.spline beside the "
                        "PONI (default: when the verdict finds its pattern)")
    p.add_argument("--sensor", metavar="MATERIAL,UM", help="sensor material and thickness in µm (Si,450): "
                   "pyFAI's parallax model, written to the PONI")
    p.add_argument("--poni", metavar="OUT", help="write the PONI file (versioned, never overwritten)")
    p.add_argument("--history", metavar="CSV", help="write the optimization history")
    p.add_argument("--pattern", metavar="OUT", help="write the integrated 1D pattern (2θ, I) as text")
    p.add_argument("--cake", metavar="OUT", help="write the cake (χ x 2θ) as an image (.tif, .edf, .npy)")
    p.add_argument("--residuals", metavar="CSV", help="write per-point residuals (x, y, ring, Δ2θ)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    return p


# the request's fields as argparse names them (dest); see calterm.inputs.calibrate
REQUEST_FIELDS = ("image", "calibrant", "wavelength", "energy", "frame", "rotate", "flip", "detector", "pixel_size",
                  "mask", "distance", "center", "point", "search_size", "rings", "fix", "free", "bound",
                  "peak_method", "delta_2th", "i_min_factor", "i_max", "spline", "sensor", "fit_distortion")


def request_from_args(args) -> CalibrationRequest:
    fields = {key: getattr(args, key) for key in REQUEST_FIELDS}
    return calibration_request({**fields, "grow": not args.no_grow})


def run(args) -> int:
    from calterm.core.calibrate.outputs import write_calibration_outputs
    from calterm.core.calibrate.pipeline import calibrate

    request = request_from_args(args)
    paths = calibration_outputs({key: getattr(args, key) for key in OUTPUT_KINDS})  # before any work
    result = calibrate(request)
    summary = result.summary()
    ok = result.verdict.ok
    if ok:
        summary["outputs"] = write_calibration_outputs(result, request, paths, "calterm " + " ".join(sys.argv[1:]))
    if args.json:
        print_json(summary)
    else:
        _print_report(result)
    if not ok:
        print(f"calterm: calibration {result.verdict.status}: {'; '.join(result.verdict.reasons)}"
              + (" (nothing written)" if paths else ""), file=sys.stderr)
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
    print(f"  (± 1σ: {result.summary()['sigma_method']})")
    print(f"Fit2D: distance {f['directDist']:.3f} mm, centre x {f['centerX']:.3f} y {f['centerY']:.3f} px, "
          f"tilt {f['tilt']:.4f}°, tilt plane {f['tiltPlanRotation']:.3f}°")
    if result.detector_choice is not None:
        print(f"detector choice: {result.detector_choice.describe()}")
    if result.identity is not None:  # is it the calibrant typed? (core/calibrate/identity.py)
        print(f"calibrant check: {result.identity.describe()}")
    for fact, used in result.from_header.items():
        print(f"from header: {fact} = {used['value'] if isinstance(used, dict) else used}"
              + (f" ({used['key']})" if isinstance(used, dict) and used.get("key") else ""))
