"""`calterm dark FILE... --average PATH --std PATH --max PATH [--min PATH] [--json]`: dark-run statistics.

Frames come from files, globs (quote them to get past the shell's argument limit) and list files
(``--list``); every output is written as a new version (see ``calterm history``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from calterm.cli.common import print_json
from calterm.core.common.jobs import JobContext, Progress
from calterm.core.health.dark import DarkOptions, compute_dark
from calterm.core.io.frames import expand_sources
from calterm.core.io.images import TIFF_SUFFIXES, write_image
from calterm.core.io.versions import write_versioned
from calterm.errors import InputError
from calterm.inputs.values import parse_range

IMAGE_SUFFIXES = TIFF_SUFFIXES | {".edf", ".npy"}
OUTPUTS = ("average", "std", "max", "min", "clipped_mean")
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
    p.add_argument("--clip-sigma", type=float, metavar="K", help="sigma-clipped mean: keep values within K sigma")
    p.add_argument("--clip-iterations", type=int, default=1, metavar="N", help="clipping iterations (default 1)")
    p.add_argument("--gate-sigma", type=float, metavar="K",
                   help="drop frames whose mean is more than K robust sigmas from the median frame mean")
    p.add_argument("--gate-range", metavar="LO,HI", help="drop frames whose mean is outside LO..HI (either may be empty)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="local processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler (tcp://host:8786)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p



def _check_outputs(args) -> dict[str, Path]:
    outputs = {name: Path(getattr(args, name)) for name in OUTPUTS if getattr(args, name)}
    if not outputs:
        raise InputError("nothing to write: give at least one of --average, --std, --max, --min")
    if "clipped_mean" in outputs and args.clip_sigma is None:
        raise InputError("--clipped-mean needs --clip-sigma K")
    if len({p.resolve() for p in outputs.values()}) != len(outputs):
        raise InputError("two outputs name the same file")
    for path in outputs.values():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(f"{path}: unknown image format {path.suffix!r} (use .tif, .edf or .npy)")
        if not (path.parent if str(path.parent) else Path(".")).is_dir():
            raise InputError(f"{path}: directory {path.parent} does not exist")
    return outputs


def _progress_printer():
    if not sys.stderr.isatty():
        return None

    started: dict[str, float] = {}  # each pass has its own rate

    def show(p: Progress) -> None:
        if p.stage not in started:
            if started:
                sys.stderr.write("\n")
            started[p.stage] = p.elapsed_s
        seconds = p.elapsed_s - started[p.stage]
        rate = p.done / seconds if seconds > 0 else 0.0
        sys.stderr.write(f"\r{p.stage}: {p.done}/{p.total} frames ({rate:.0f} frames/s)   ")
        sys.stderr.flush()

    return show


def run(args) -> int:
    outputs = _check_outputs(args)
    paths = expand_sources(args.files, args.lists)
    options = DarkOptions(ddof=1 if args.sample_std else 0, clip_sigma=args.clip_sigma,
                          clip_iterations=args.clip_iterations, gate_sigma=args.gate_sigma,
                          gate_range=parse_range(args.gate_range), workers=args.workers, scheduler=args.scheduler)
    progress = None if args.json else _progress_printer()
    result = compute_dark(paths, options, JobContext(progress=progress))
    if progress is not None:
        sys.stderr.write("\n")
    for path, frame, reason in result.skipped[:MAX_WARNINGS]:
        where = path if frame is None else f"{path} frame {frame}"
        print(f"calterm: warning: skipped {where}: {reason}", file=sys.stderr)
    if len(result.skipped) > MAX_WARNINGS:
        print(f"calterm: warning: ... and {len(result.skipped) - MAX_WARNINGS} more skipped", file=sys.stderr)
    inputs = {"sources": paths[:20], "n_sources": len(paths), "lists": args.lists,
              "frames_used": result.frames_used, "frames_skipped": len(result.skipped),
              "std": "sample" if args.sample_std else "population"}
    images = {"average": result.average, "std": result.std, "max": result.max, "min": result.min,
              "clipped_mean": result.clipped_mean}
    written = {}
    for name, path in outputs.items():
        data = images[name]
        written[name] = str(write_versioned(path, lambda tmp, d=data: write_image(tmp, d),
                                            command=f"calterm dark --{name.replace('_', '-')}", inputs=inputs))
    report = {**result.report(), "outputs": {k: str(v) for k, v in outputs.items()}, "versions": written}
    if args.json:
        print_json(report)
    else:
        print(f"{result.frames_used} frames used, {len(result.skipped)} skipped, {len(result.gated)} gated "
              f"in {report['time_s']} s ({report['frames_per_s']} frames/s)")
        for name, path in outputs.items():
            print(f"{name}: {path} -> {Path(written[name]).name}")
    return 0
