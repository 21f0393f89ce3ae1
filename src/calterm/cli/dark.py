"""`calterm dark FILE... --average PATH --std PATH --max PATH [--min PATH] [--json]`: dark-run statistics.

Frames come from files, globs (quote them to get past the shell's argument limit) and list files
(``--list``); every output is written as a new version (see ``calterm history``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from calterm.cli.common import print_json
from calterm.core.common.jobs import JobContext, Progress
from calterm.core.health.dark import (
    DARK_OUTPUTS,
    FrameRate,
    compute_dark,
    dark_provenance,
    write_dark_outputs,
)
from calterm.core.io.frames import expand_sources
from calterm.inputs.health import dark_outputs, dark_request

MAX_WARNINGS = 20


def add_parser(sub):
    p = sub.add_parser("dark", help="average, std, max and min images of a dark run (streaming, parallel)",
                       description="Per-pixel statistics of many frames in constant memory. The standard "
                       "deviation divides by N (population, as cxi.mpi_average) unless --sample-std.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="image files or quoted globs; FILE.h5::/dataset selects an HDF5 dataset")
    p.add_argument("--list", action="append", default=[], metavar="FILE", dest="lists",
                   help="file listing one path or glob per line (relative to the list's directory)")
    p.add_argument("--average", metavar="PATH", help="write the average image (.tif, .edf or .npy)")
    p.add_argument("--std", metavar="PATH", help="write the standard deviation image")
    p.add_argument("--max", metavar="PATH", help="write the maximum image")
    p.add_argument("--min", metavar="PATH", help="write the minimum image")
    p.add_argument("--clipped-mean", metavar="PATH", help="write the sigma-clipped mean (needs --clip-sigma)")
    p.add_argument("--sample-std", action="store_true", help="divide by N-1 instead of N")
    p.add_argument("--clip-sigma", metavar="K", help="sigma-clipped mean: keep values within K sigma")
    p.add_argument("--clip-iterations", default="1", metavar="N", help="clipping iterations (default 1)")
    p.add_argument("--gate-sigma", metavar="K",
                   help="drop frames whose mean is more than K robust sigmas from the median frame mean")
    p.add_argument("--gate-range", metavar="LO,HI", help="drop frames whose mean is outside LO..HI (either may be empty)")
    p.add_argument("--workers", default="1", metavar="N", help="local processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p



def _progress_printer():
    if not sys.stderr.isatty():
        return None
    rate = FrameRate()  # each pass has its own rate

    def show(p: Progress) -> None:
        if rate.new_stage(p) and rate.stages:
            sys.stderr.write("\n")  # the previous pass's line stays
        sys.stderr.write(f"\r{p.stage}: {p.done}/{p.total} frames ({rate(p):.0f} frames/s)   ")
        sys.stderr.flush()

    return show


def run(args) -> int:
    request = dark_request(files=args.files, lists=args.lists, sample_std=args.sample_std, clip_sigma=args.clip_sigma,
                           clip_iterations=args.clip_iterations, gate_sigma=args.gate_sigma,
                           gate_range=args.gate_range, workers=args.workers, scheduler=args.scheduler)
    outputs = dark_outputs({name: getattr(args, name) for name in DARK_OUTPUTS},
                           clip_sigma=request.options.clip_sigma)  # checked before any frame is read
    paths = expand_sources(list(request.files), list(request.lists))
    progress = None if args.json else _progress_printer()
    result = compute_dark(paths, request.options, JobContext(progress=progress))
    if progress is not None:
        sys.stderr.write("\n")
    for path, frame, reason in result.skipped[:MAX_WARNINGS]:
        where = path if frame is None else f"{path} frame {frame}"
        print(f"calterm: warning: skipped {where}: {reason}", file=sys.stderr)
    if len(result.skipped) > MAX_WARNINGS:
        print(f"calterm: warning: ... and {len(result.skipped) - MAX_WARNINGS} more skipped", file=sys.stderr)
    written = {name: str(path) for name, path in
               write_dark_outputs(result, outputs, "calterm dark", dark_provenance(result, request.lists)).items()}
    report = {**result.report(), "outputs": {k: str(v) for k, v in outputs.items()}, "versions": written}
    if args.json:
        print_json(report)
    else:
        print(f"{result.frames_used} frames used, {len(result.skipped)} skipped "
              f"({result.frames_nonfinite} NaN/Inf), {len(result.gated)} gated "
              f"in {report['time_s']} s ({report['frames_per_s']} frames/s)")
        if result.frames_partly_nonfinite:
            print(f"{result.frames_partly_nonfinite} frames had some NaN/Inf pixels (left out pixel by pixel)")
        for name, path in outputs.items():
            print(f"{name}: {path} -> {Path(written[name]).name}")
    return 0
