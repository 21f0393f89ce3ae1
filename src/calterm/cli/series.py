"""`calterm series 'run/*.tif'` or `calterm series --watch DIR`: recalibrate each image from the
previous geometry and tabulate the drift.

The first image goes through the full calibration; each next one through the fast path (peaks
about the predicted rings, one refinement, a verdict), with the full pipeline as fallback when
the fast path doubts. The drift table (time, distance, centre, tilts, RMS, verdict, flags) goes to
--table (CSV or JSON), also after Ctrl+C. Unreadable images are skipped and counted. Exit 0 when
every image was good, 1 when some were doubtful, failed or skipped, 2 on bad input, 130 on Ctrl+C
(the table still written).
"""

from __future__ import annotations

import signal
import sys

from calterm.cli.common import add_image_options, add_wavelength_options, print_json


def add_parser(sub):
    p = sub.add_parser("series", help="recalibrate a series of images (or a watched folder) and tabulate the drift",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("images", nargs="*", metavar="IMAGES", help="images or globs ('run/*.tif'), sorted naturally")
    p.add_argument("--watch", metavar="DIR", help="watch DIR and process each new image as it lands (watchdog)")
    p.add_argument("--pattern", default="*", help="with --watch: only file names matching this glob (default *)")
    p.add_argument("--idle", type=float, metavar="S", help="with --watch: stop after S seconds without a new image")
    p.add_argument("--max-images", type=int, metavar="N", help="with --watch: stop after N images")
    p.add_argument("--calibrant", required=True, help="pyFAI calibrant name or d-spacing file (.D)")
    add_wavelength_options(p, "X-ray wavelength in Å (default: the first image header's)")
    add_image_options(p)
    p.add_argument("--distance", metavar="MM", help="start distance of the first image (mm)")
    p.add_argument("--center", metavar="X,Y", help="start beam centre of the first image (pixels)")
    p.add_argument("--jump-mm", metavar="MM", help="flag a distance step larger than this (default 0.1 mm)")
    p.add_argument("--jump-px", metavar="PX", help="flag a beam-centre step larger than this (default 1 px)")
    p.add_argument("--full", action="store_true", help="every image through the full pipeline (no fast path)")
    p.add_argument("--table", metavar="OUT", help="write the drift table (.csv or .json; versioned)")
    p.add_argument("--json", action="store_true", help="print the table as one JSON document on stdout")
    return p


FIELDS = ("calibrant", "wavelength", "energy", "frame", "rotate", "flip", "detector", "pixel_size", "mask",
          "distance", "center")


def run(args) -> int:
    from calterm.core.common.jobs import JobContext
    from calterm.core.series.run import run_series
    from calterm.core.series.table import write_drift_table
    from calterm.errors import InputError
    from calterm.inputs.series import first_request, series_options, series_paths, table_path, watch_folder

    fields = {k: getattr(args, k) for k in FIELDS}
    options = series_options({"jump_mm": args.jump_mm, "jump_px": args.jump_px, "full": args.full})
    table = table_path(args.table)  # before any work
    ctx = JobContext()
    if args.watch:
        if args.images:
            raise InputError("give images or --watch DIR, not both")
        from calterm.core.series.watch import FolderWatch

        folder = watch_folder(args.watch)
        request = first_request(fields, None)
        paths = FolderWatch(folder, ctx, args.pattern, idle_s=args.idle, max_images=args.max_images)
        total = 0
    else:
        files = series_paths(args.images)
        request = first_request(fields, files[0])
        paths, total = files, len(files)
    previous = signal.signal(signal.SIGINT, lambda *_: ctx.cancel.cancel())  # Ctrl+C: stop between steps
    try:
        if not args.json:
            print(f"{'#':>4s} {'image':28s} {'dist mm':>10s} {'x px':>9s} {'y px':>9s} {'rms 2θ °':>9s} "
                  f"{'verdict':8s} {'path':4s} flags", flush=True)
        result = run_series(request, paths, options, ctx, on_row=None if args.json else _print_row, total=total)
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.watch and not result.stop_reason:
        result.stop_reason = paths.stop_reason
    summary = result.summary()
    if table is not None:
        summary["outputs"] = [str(write_drift_table(result, table, "calterm " + " ".join(sys.argv[1:])))]
    if args.json:
        print_json(summary)
    else:
        print(f"{len(result.rows)} images, {len(result.skipped)} skipped, "
              f"{sum(1 for r in result.rows if r.flags)} flagged" + (f"; stopped: {result.stop_reason}"
                                                                       if result.stop_reason else ""))
    for path, reason in result.skipped:
        print(f"calterm: skipped {path}: {reason}", file=sys.stderr)
    if result.cancelled:
        print("calterm: interrupted" + (" (table written)" if table is not None else ""), file=sys.stderr)
        return 130
    bad = result.skipped or any(r.verdict != "good" for r in result.rows) or not result.rows
    return 1 if bad else 0


def _print_row(row) -> None:
    print(f"{row.index:4d} {row.image[-28:]:28s} {row.dist_mm:10.4f} {row.center_x:9.3f} {row.center_y:9.3f} "
          f"{row.rms_2th_deg:9.2e} {row.verdict:8s} {row.method:4s} {'; '.join(row.flags)}", flush=True)
