"""`calterm demo`: calibrate the built-in demo image (LaB6 rendered by pyFAI at a known geometry)
from rough start values, and show how close the result is to the truth."""

from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("demo", help="calibrate the built-in demo image and compare with the truth")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    return p


def run(args) -> int:
    from calterm.cli.calibrate import _print_report
    from calterm.cli.common import print_json
    from calterm.core.calibrate.pipeline import calibrate
    from calterm.core.common.geometry import max_tth_error_deg
    from calterm.core.simulate.demo import demo_request
    from calterm.core.simulate.powder import demo_case

    request = demo_request()
    if not args.json:
        print(f"demo image: {request.image_path}")
        print(f"start values: distance {request.distance_mm} mm, centre {request.center_xy} px (truth hidden)")
    result = calibrate(request)
    truth = demo_case().geometry
    err = max_tth_error_deg(result.geometry, truth, result.detector, result.shape)
    if args.json:
        summary = result.summary()
        summary["truth"] = truth.as_dict()
        summary["max_tth_error_deg"] = err
        print_json(summary)
    else:
        _print_report(result)
        print(f"truth: distance {truth.dist * 1e3:.3f} mm; max |Δ2θ| over the detector vs the truth {err:.2e}°")
    return 0 if result.verdict.ok else 1
