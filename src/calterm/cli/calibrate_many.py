"""`calterm calibrate-many IMG1 IMG2 ...`: several images calibrated together (joint fit).

Each image is first calibrated alone; one least-squares fit over every image's points then shares
the centre and tilts, and gives each image its distance, or links them (dist_i = L0 + travel_i)
so the wavelength is refined too. Exit 0 when good, 1 when doubtful (nothing written), 2 on bad input.
"""

from __future__ import annotations

import sys

from calterm.cli.common import add_image_options, add_wavelength_options, print_json
from calterm.core.common.geometry import PARAMS
from calterm.inputs.joint import joint_request, poni_dir


def add_parser(sub):
    p = sub.add_parser("calibrate-many", help="calibrate several images together (shared centre, linked distances, "
                       "wavelength)", description=__doc__.split("\n\n")[0])
    p.add_argument("images", nargs="+", metavar="IMAGE", help="calibrant images, one detector")
    p.add_argument("--calibrant", required=True, help="calibrant name or .D file (or one per image: A,B,...)")
    add_wavelength_options(p, "X-ray wavelength in Å (start value when refined)")
    add_image_options(p)
    p.add_argument("--distance", metavar="MM[,MM...]", help="start distance in mm (one, or one per image)")
    p.add_argument("--center", metavar="X,Y", help="start beam centre in pixels")
    p.add_argument("--travel", metavar="MM,MM,...|header",
                   help="detector travel of each image along its normal (mm), or `header`: links the distances "
                        "(dist_i = L0 + travel_i), which makes the wavelength refinable")
    p.add_argument("--model", metavar="PARAM=MODE,...",
                   help="per parameter: shared, per-image, linked (dist only) or fixed; default dist=per-image "
                        "(linked with --travel), centre and rot1/rot2 shared, rot3 fixed, wavelength shared "
                        f"(refined only with linked distances); parameters: {', '.join(PARAMS)}")
    p.add_argument("--poni-dir", metavar="DIR", help="write one PONI per image there (DIR/IMAGE_STEM.poni, versioned)")
    p.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    return p


FIELDS = ("calibrant", "wavelength", "energy", "frame", "rotate", "flip", "detector", "pixel_size", "mask",
          "distance", "center", "travel", "model")


def run(args) -> int:
    from calterm.core.joint.calibrate_many import calibrate_many, poni_paths, write_ponis

    request = joint_request({"images": args.images, **{k: getattr(args, k) for k in FIELDS}})
    folder = poni_dir(args.poni_dir)  # before any work
    paths = poni_paths(request, folder) if folder is not None else []
    if paths:
        from calterm.inputs.values import output_path

        for path in paths:
            output_path(path, "poni")
    result = calibrate_many(request)
    summary = result.summary()
    if result.ok and paths:
        summary["outputs"] = write_ponis(result, paths, "calterm " + " ".join(sys.argv[1:]))
    if args.json:
        print_json(summary)
    else:
        _print_report(result)
    if not result.ok:
        print(f"calterm: joint calibration doubtful: {'; '.join(result.reasons)}"
              + (" (nothing written)" if paths else ""), file=sys.stderr)
        return 1
    return 0


def _print_report(result) -> None:
    print(f"verdict: {result.status}: {'; '.join(result.reasons)}")
    print(result.wavelength_note)
    for name, value in result.values.items():
        unit = "Å" if name == "wavelength" else ""
        shown = value * 1e10 if name == "wavelength" else value
        err = result.sigma.get(name)
        err_text = "" if err is None else f" ± {err * (1e10 if name == 'wavelength' else 1):.2e}"
        print(f"  {name:12s} {shown:.8g}{err_text} {unit}".rstrip())
    print(f"  (± 1σ: {result.sigma_method})")
    print(f"{'image':30s} {'dist mm':>10s} {'rms 2θ °':>10s} {'alone °':>10s} {'points':>7s}")
    for f in result.images:
        print(f"{f.image_path[-30:]:30s} {f.geometry.dist * 1e3:10.4f} {f.rms_2th_deg:10.2e} "
              f"{f.own.rms_2th_deg:10.2e} {f.residual_rad.size:7d}")
        for r in f.rings:
            print(f"    ring {r.ring:2d} d {r.d_A:.4f} Å 2θ {r.tth_deg:8.4f}° n {r.count:5d} "
                  f"mean {r.mean_deg:+.2e}° std {r.std_deg:.2e}°")
