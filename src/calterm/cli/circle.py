"""`calterm circle IMAGE`: single-ring calibration (MuscleX style) from points on a ring, or automatic.

Points are pixels of the image as read (after --rotate/--flip): x = column, y = row, integers at
pixel centres. With a d-spacing (or a calibrant ring) the ring also gives the scale, and with
wavelength and pixel size the sample-detector distance (exact Bragg geometry). With --distance
instead of a d-spacing (calibration by parameters) it gives the ring's d-spacing. What was typed
is read by :mod:`calterm.inputs.circle` (as the app's screen 6 does) and the history path checked
before the image is read; the history is written as a new version, never over an earlier one.

The image header (:mod:`calterm.core.io.headers`) fills in what was not typed: the pixel size
(through the detector choice), the wavelength and, with no d-spacing, calibrant or distance typed,
the distance. Each such value is reported "from header"; typed values always win. A header
distance that disagrees with the one the calibrant's ring gives is said in a note: a mar345
header's 400 mm is the motor's nominal value, the AgBh ring of that very image says 1064 mm.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from calterm.cli.common import add_image_options, print_json
from calterm.errors import InputError
from calterm.inputs.circle import circle_history_output, circle_request, scale_with_header

HEADER_DISTANCE_AGREES = 0.05  # a header distance within 5 % of the ring's is not worth a note


def add_parser(sub):
    p = sub.add_parser(
        "circle", help="single-ring calibration: robust circle fit from points on a ring, or found automatically",
        description="Fit one ring robustly (radial peak refinement, differential evolution, multi-start, MAD "
                    "outlier rejection, refinement against the image). Without --point the ring is found "
                    "automatically.")
    p.add_argument("image", help="detector image (any format fabio or tifffile reads)")
    p.add_argument("--point", action="append", default=[], metavar="X,Y",
                   help="a point on the ring in pixels (x = column, y = row); give 5 or more")
    p.add_argument("--search-size", type=float, default=10.0, metavar="PX",
                   help="half-width of the radial search for each point's ring peak (default 10; 0 = use the "
                        "points as given). A point farther than this from the ring is rejected.")
    p.add_argument("--fixed-center", metavar="X,Y", help="known beam centre: fit the radius only")
    cal = p.add_mutually_exclusive_group()
    cal.add_argument("--d-spacing", type=float, metavar="NM", help="d-spacing of the ring in nm")
    cal.add_argument("--calibrant", metavar="NAME", help="calibrant (pyFAI name or .D file), e.g. AgBh")
    p.add_argument("--order", type=int, default=1, metavar="N",
                   help="ring N of the calibrant, 1 = largest d (for AgBh: the N-th order; default 1)")
    p.add_argument("--wavelength", type=float, metavar="ANGSTROM", help="wavelength in Å (gives the distance)")
    cal.add_argument("--distance", type=float, metavar="MM",
                   help="sample-detector distance in mm: calibration by parameters (gives the ring's d-spacing)")
    add_image_options(p)
    p.add_argument("--popsize", type=int, default=15, metavar="N",
                   help="differential evolution population multiplier (default 15)")
    p.add_argument("--generations", type=int, default=100, metavar="N",
                   help="differential evolution generations at most (default 100)")
    p.add_argument("--starts", type=int, default=4, metavar="N", help="local refinements from different starts (default 4)")
    p.add_argument("--mad-threshold", type=float, default=3.5, metavar="K",
                   help="reject a point when |residual - median| > K x 1.4826 x MAD (and > 1 px); default 3.5")
    p.add_argument("--points-only", action="store_true",
                   help="do not refine the final fit against ring peaks all along the circle")
    p.add_argument("--seed", type=int, default=0, help="random seed of the global search (default 0)")
    p.add_argument("--history", metavar="CSV", help="write the optimization history (one row per iteration)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def _load(args):
    """The image as float with NaN at invalid/masked pixels, the detector choice (or None when
    nothing typed or in the header gives a pixel size) and the header's facts (as stored)."""
    from calterm.core.common.detectors import detector_mask, resolve_detector
    from calterm.core.io.headers import header_facts
    from calterm.core.io.images import load_image, load_mask, orient

    img = load_image(args.image, frame=args.frame, rotate=args.rotate, flip=args.flip)
    facts = header_facts(args.image, args.frame)
    invalid = img.invalid.copy()
    if args.mask:
        invalid |= load_mask(args.mask, img.shape, args.rotate, args.flip)
    raw_shape = img.shape[::-1] if args.rotate in (90, 270) else img.shape
    typed = args.detector or args.pixel_size is not None or args.wavelength is not None
    choice = None  # a fit in pixels needs no detector (nor pyFAI's 1.5 s import: no header, nothing typed)
    if typed or facts.pixel_size_um is not None or facts.detector is not None:
        try:
            choice = resolve_detector(raw_shape, args.detector, args.pixel_size, header=facts)
        except InputError:
            if typed:
                raise
    if choice is not None:
        invalid |= orient(detector_mask(choice, raw_shape), args.rotate, args.flip)
    work = np.where(invalid, np.nan, img.data)
    if not np.isfinite(work).any():
        raise InputError(f"{args.image}: no valid pixels left after masking")
    return work, choice, facts


def _calibration(scale, result, choice) -> dict | None:
    from calterm.core.circle import calibration as circle_calib

    pixel = None
    if choice is not None:
        p1, p2 = choice.pixel_size_um
        pixel = math.sqrt(p1 * p2)
    if scale.d_spacing_nm is not None or scale.calibrant:
        d = circle_calib.ring_d_spacing_nm(scale.d_spacing_nm, scale.calibrant, scale.order)
        cal = circle_calib.calibrate_ring(result.radius, d, scale.wavelength_A, pixel, result.radius_se)
        return cal.as_dict()
    if scale.distance_mm is not None:
        if scale.wavelength_A is None or pixel is None:
            raise InputError("calibration by parameters needs --wavelength, --distance and a pixel size")
        return circle_calib.calibrate_by_parameters(result.radius, scale.wavelength_A, scale.distance_mm,
                                                    pixel).as_dict()
    return None


FIELDS = ("point", "fixed_center", "d_spacing", "calibrant", "order", "wavelength", "distance", "search_size",
          "popsize", "generations", "starts", "mad_threshold", "points_only", "seed")


def run(args) -> int:
    from calterm.core.circle.fit import fit_circle, fit_ring

    request = circle_request({key: getattr(args, key) for key in FIELDS})
    history_path = circle_history_output(args.history)  # before the image is read
    options = request.options
    image, choice, facts = _load(args)
    scale, from_header = scale_with_header(request.scale, facts)
    if choice is not None and choice.reason == "pixel size from header":
        from_header["pixel_size_um"] = {"value": list(choice.pixel_size_um),
                                        "key": facts.keys.get("pixel_size_um", "")}
    if request.points:
        result = fit_circle(np.array(request.points, dtype=float), image, options, fixed_center=request.fixed_center)
    else:
        result = fit_ring(image, options, fixed_center=request.fixed_center)
    calibration = _calibration(scale, result, choice)
    notes = _header_notes(calibration, facts, from_header)
    if history_path is not None:
        result.history.write_csv(history_path, command="calterm " + " ".join(sys.argv[1:]),
                                 inputs={"image": args.image})
    doc = result.as_dict()
    doc.update(image=args.image, shape=list(image.shape), points=[list(p) for p in request.points])
    if choice is not None:
        doc["detector"] = choice.as_dict()
    if calibration is not None:
        doc["calibration"] = calibration
    doc["from_header"] = from_header
    doc["header"] = facts.as_dict()
    doc["notes"] = [*doc.get("notes", []), *notes]
    if args.history:
        doc["history_csv"] = args.history
    if args.json:
        print_json(doc)
    else:
        print(_text(doc))
    return 0


def _header_notes(calibration: dict | None, facts, from_header: dict) -> list[str]:
    """What the header said that the ring contradicts (the header is a start, the ring judges)."""
    if not calibration or "distance_mm" in from_header or facts.distance_mm is None:
        return []
    ring = calibration.get("distance_mm")
    if ring is None or abs(ring - facts.distance_mm) <= HEADER_DISTANCE_AGREES * ring:
        return []
    return [f"the header's distance {facts.distance_mm:g} mm ({facts.keys.get('distance_mm', '')}) disagrees "
            f"with the ring's {ring:.1f} mm: the ring is measured, the header is not"]


def _text(doc: dict) -> str:
    cx, cy = doc["center"]
    sx, sy = doc["center_se"]
    lines = [
        f"centre   x = {cx:.3f} ± {sx:.3f} px, y = {cy:.3f} ± {sy:.3f} px" + ("  (fixed)" if doc["fixed_center"] else ""),
        f"radius   {doc['radius']:.3f} ± {doc['radius_se']:.3f} px",
    ]
    pts = doc["points"]
    if pts:
        rej = doc["rejected"]
        lines.append(f"points   {len(pts)} given, {len(rej)} rejected"
                     + (f": {', '.join(map(str, rej))}" if rej else "")
                     + f" (|residual - median| > {doc['threshold_px']:.2f} px); rms of the rest {doc['rms']:.3f} px")
        lines.append("    #        x        y  refined x  refined y   residual")
        for i, ((x, y), (fx, fy), res) in enumerate(zip(pts, doc["fitted_points"], doc["residuals"], strict=True)):
            flag = "rejected" if i in rej else ("" if doc["refined"][i] else "no peak in window")
            lines.append(f"  {i:3d} {x:8.2f} {y:8.2f}  {fx:9.3f}  {fy:9.3f}  {res:+9.3f}  {flag}")
    if doc["ring_samples"]:
        lines.append(f"ring     {doc['ring_samples']} peaks along the circle over {doc['ring_arc_deg']:.0f}°, "
                     f"rms {doc['ring_rms']:.3f} px")
    lines.append(f"method   {doc['method']}; {doc['iterations']} history rows"
                 + (f" -> {doc['history_csv']}" if doc.get("history_csv") else ""))
    lines.extend(f"note     {n}" for n in doc["notes"])
    if doc.get("detector"):
        d = doc["detector"]
        lines.append(f"detector {d['name']} ({d['how']}{'; ' + d['reason'] if d['reason'] else ''})"
                     + (f"; candidates of this shape: {', '.join(d['candidates'])}" if len(d["candidates"]) > 1 else ""))
    for fact, used in doc.get("from_header", {}).items():
        lines.append(f"header   {fact} = {used['value']} from header ({used['key']})")
    cal = doc.get("calibration")
    if cal:
        lines.append(f"d        {cal['d_spacing_nm']:.5g} nm; scale {cal['scale_inv_nm_per_px']:.6g} nm⁻¹/px "
                     f"(1/d per px), q {cal['q_per_px_inv_nm']:.6g} nm⁻¹/px")
        if "distance_mm" in cal:
            se = f" ± {cal['distance_se_mm']:.3f}" if "distance_se_mm" in cal else ""
            lines.append(f"distance {cal['distance_mm']:.3f}{se} mm (λ {cal['wavelength_A']} Å, pixel "
                         f"{cal['pixel_size_um']:.4g} µm, 2θ {cal['two_theta_deg']:.4f}°, {cal['source']})")
    return "\n".join(lines)
