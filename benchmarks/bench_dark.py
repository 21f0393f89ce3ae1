"""Throughput and peak memory of `calterm dark` against a plain single-process numpy loop.

    python benchmarks/bench_dark.py [--frames 240] [--shape 1024,1024] [--dir /tmp/calterm-bench-dark] [--dask]
    python benchmarks/bench_dark.py --align     # quadrant alignment accuracy (synthetic and real CeO2)

Writes a synthetic dark run (uint16 single-frame TIFFs, pedestal + noise per pixel) once, then runs,
each in a fresh process on the same files (read once beforehand, so all runs read from the page
cache), the runs of one repeat one after the other (interleaved, so a change of the machine's load
hits all of them):
- the reference: read each frame, accumulate float64 sum, sum of squares and max (numpy), write the
  three images (``np.save``);
- `calterm dark --list FILE --average --std --max` with 1 worker and with 2 workers;
- with ``--dask``: a Dask LocalCluster of 2 worker processes (its start-up timed: what running local
  work through Dask would add to every run) and `calterm dark --scheduler ADDRESS` on it;
- two reference loops at once on the two halves of the run (how much two processes can gain here);
- `calterm dark` on half and on twice the run (4x apart) to compare peak memory (max RSS).
Each run is timed twice: its loop (compute) and the whole process from interpreter start to exit
(start-up, reading, writing), with its CPU time (all its processes): on a shared machine the CPU
ratio is the one other jobs cannot move. Prints Markdown tables for docs/benchmarks.md and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REFERENCE = r"""
import json, resource, sys, time
import numpy as np, tifffile
files = open(sys.argv[1]).read().split()
out = sys.argv[2] if len(sys.argv) > 2 else None
t = time.perf_counter()
s = ss = mx = None
for f in files:
    x = tifffile.imread(f).astype(np.float64)
    if s is None:
        s, ss, mx = np.zeros_like(x), np.zeros_like(x), np.full_like(x, -np.inf)
    s += x
    ss += x * x
    np.maximum(mx, x, out=mx)
mean = s / len(files)
std = np.sqrt(np.maximum(ss / len(files) - mean * mean, 0))
elapsed = time.perf_counter() - t
if out:
    for name, img in (("avg", mean), ("std", std), ("max", mx)):
        np.save(f"{out}/ref_{name}.npy", img)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"time_s": elapsed, "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024}))
"""

CALTERM = r"""
import io, json, resource, sys, time, contextlib
t = time.perf_counter()
from calterm.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = main(sys.argv[1:])
wall = time.perf_counter() - t
report = json.loads(buf.getvalue())
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "time_s": report["time_s"], "wall_s": wall, "frames": report["frames_used"],
                  "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def make_run(directory: Path, n: int, shape: tuple[int, int]) -> list[Path]:
    import tifffile

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pedestal = rng.uniform(200, 1200, shape).astype(np.float32)
    noise = rng.uniform(1, 6, shape).astype(np.float32)
    files = [directory / f"dark_{i:05d}.tif" for i in range(n)]
    for f in files:
        if not f.is_file() or tifffile.TiffFile(f).pages[0].shape != shape:
            frame = pedestal + noise * rng.standard_normal(shape, dtype=np.float32)
            tifffile.imwrite(f, np.clip(np.rint(frame), 0, 65535).astype(np.uint16))
    return files


def run_json(code: str, *args) -> dict:
    """Run ``code`` in a fresh interpreter; its JSON line plus the whole process's wall and CPU time."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"benchmark step failed: {out.stderr.strip()[-500:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    result["process_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


def write_list(path: Path, files: list[Path]) -> Path:
    path.write_text("\n".join(str(f) for f in files) + "\n")
    return path


def two_reference_loops(first: Path, second: Path) -> float:
    """Loop time of two plain numpy loops on the two halves at once: what this machine gives two processes.

    Both start together (interpreter start-up overlaps), so the loop times overlap too; the longer counts.
    """
    procs = [subprocess.Popen([sys.executable, "-c", REFERENCE, str(f)], stdout=subprocess.PIPE, text=True)
             for f in (first, second)]
    return max(json.loads(p.communicate()[0].strip().splitlines()[-1])["time_s"] for p in procs)


def calterm_dark(listfile: Path, out: Path, workers: int, scheduler: str | None = None) -> dict:
    where = ["--scheduler", scheduler] if scheduler else ["--workers", workers]
    return run_json(CALTERM, "dark", "--list", listfile, "--average", out / "avg.npy", "--std", out / "std.npy",
                    "--max", out / "max.npy", *where, "--json")


def best(runs: list[dict], key: str = "process_s") -> dict:
    return min(runs, key=lambda r: r[key])


def _worker_cpu_s() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def cluster_cpu_s(client) -> float:
    """CPU seconds the cluster's worker processes have used so far (not children of the timed run)."""
    return sum(client.run(_worker_cpu_s).values())


def start_local_cluster():
    """A Dask LocalCluster of 2 single-threaded worker processes, and the seconds it took to start."""
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.submit(sum, [1, 2]).result()
    return cluster, client, time.perf_counter() - t


SHIFTS = {"top-left": (6.3, 1.2), "top-right": (-13.6, -2.8), "bottom-right": (-7.0, 11.4), "bottom-left": (-4.25, 10.8)}


def align_accuracy() -> None:
    """Known quadrant displacements recovered by `calterm.core.health.alignment` (px), with the time taken."""
    from dataclasses import replace

    from scipy import ndimage

    from calterm.core.common.geometry import PoniGeometry
    from calterm.core.common.panel_layouts import Panel, quadrants
    from calterm.core.health.alignment import align_panels
    from calterm.core.io.images import load_image
    from calterm.core.simulate.powder import SyntheticCase, render

    print("| image | quadrant | true shift (px) | found | error (px) | cc before -> after |")
    print("|---|---|---|---|---|---|")
    n, pix = 512, 100e-6
    center = (n / 2 - 0.5 + 3.2, n / 2 - 0.5 - 4.7)
    geo = PoniGeometry(0.08, (center[1] + 0.5) * pix, (center[0] + 0.5) * pix, wavelength=0.5e-10)
    case = SyntheticCase(None, "CeO2", geo, shape=(n, n), peak_intensity=1000, resolution_deg=0.1, seed=1)
    image = np.zeros((n, n))
    for q in quadrants((n, n)):
        dx, dy = SHIFTS[q.name]
        moved = replace(geo, poni1=geo.poni1 + dy * pix, poni2=geo.poni2 + dx * pix)
        image[q.slices] = render(replace(case, geometry=moved))[0][q.slices]
    t = time.perf_counter()
    result = align_panels(image, quadrants((n, n)), center)
    elapsed = time.perf_counter() - t
    for p in result.panels:
        err = np.hypot(*np.subtract(p.shift, SHIFTS[p.name]))
        print(f"| synthetic CeO2 {n}x{n} (pyFAI) | {p.name} | {SHIFTS[p.name]} | ({p.shift[0]:.2f}, {p.shift[1]:.2f}) "
              f"| {err:.3f} | {p.cc_before:.3f} -> {p.cc:.3f} |")
    print(f"\nsynthetic: 4 quadrants aligned in {elapsed:.1f} s (search +-20 px)\n")
    real = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "CeO2_PI_CCD_Mo.SPE"
    if not real.is_file():
        print(f"(real CeO2 image not found at {real})")
        return
    img = load_image(real).data
    h, w = img.shape
    whole = align_panels(img, [Panel("all", 0, 0, w, h)], (w / 2 - 0.5, h / 2 - 0.5), search_px=20)
    c = (w / 2 - 0.5 + whole.panels[0].shift[0], h / 2 - 0.5 + whole.panels[0].shift[1])
    shifted = np.zeros_like(img)
    for q in quadrants(img.shape):
        dx, dy = SHIFTS[q.name]
        shifted[q.slices] = ndimage.shift(img, (dy, dx), order=3, mode="constant", cval=np.nan)[q.slices]
    t = time.perf_counter()
    result = align_panels(np.nan_to_num(shifted), quadrants(img.shape), c, valid=np.isfinite(shifted))
    elapsed = time.perf_counter() - t
    print("| image | quadrant | true shift (px) | found - found on same content undisplaced | error (px) | cc before -> after |")
    print("|---|---|---|---|---|---|")
    for p in result.panels:
        dx, dy = SHIFTS[p.name]
        q = next(q for q in quadrants(img.shape) if q.name == p.name)
        source = Panel(q.name, max(0, q.x0 - round(dx)), max(0, q.y0 - round(dy)),
                       min(w, q.x1 - round(dx)), min(h, q.y1 - round(dy)))
        base = align_panels(img, [source], c, search_px=8).panels[0].shift
        rel = np.subtract(p.shift, base)
        err = np.hypot(*np.subtract(rel, SHIFTS[p.name]))
        print(f"| real CeO2_PI_CCD_Mo.SPE 1042x1042 | {p.name} | {SHIFTS[p.name]} | ({rel[0]:.2f}, {rel[1]:.2f}) "
              f"| {err:.3f} | {p.cc_before:.3f} -> {p.cc:.3f} |")
    print(f"\nreal: 4 quadrants aligned in {elapsed:.1f} s (search +-20 px)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=240, help="frames for the throughput runs (default 240)")
    ap.add_argument("--shape", default="1024,1024", help="frame shape ROWS,COLS (default 1024,1024)")
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "calterm-bench-dark"))
    ap.add_argument("--repeat", type=int, default=3, help="best of N for timings (default 3)")
    ap.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster (needs distributed)")
    ap.add_argument("--align", action="store_true", help="measure quadrant alignment accuracy instead")
    args = ap.parse_args()
    if args.align:
        align_accuracy()
        return
    shape = tuple(int(v) for v in args.shape.split(","))
    n = args.frames
    small, large = n // 2, 2 * n  # memory at two run lengths 4x apart
    t = time.perf_counter()
    files = make_run(Path(args.dir), large, shape)
    print(f"run of {large} frames {shape} ready in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="calterm-bench-"))
    lists = {k: write_list(work / f"list_{k}.txt", files[:k]) for k in (small, n, large)}
    for f in files:  # page cache: every run then reads from memory
        f.read_bytes()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    cluster = client = None
    cluster_start = None
    if args.dask:
        cluster, client, cluster_start = start_local_cluster()
    runs: dict[str, list[dict]] = {"ref": [], "one": [], "two": [], "dask": []}
    try:
        for _ in range(args.repeat):  # interleaved: a load change hits every kind of run alike
            runs["ref"].append(run_json(REFERENCE, lists[n], work))
            runs["one"].append(calterm_dark(lists[n], work, 1))
            runs["two"].append(calterm_dark(lists[n], work, 2))
            if client is not None:
                cpu = cluster_cpu_s(client)
                r = calterm_dark(lists[n], work, 1, cluster.scheduler_address)
                r["process_cpu_s"] += cluster_cpu_s(client) - cpu  # the workers' share of the run
                runs["dask"].append(r)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    ref, one, two = best(runs["ref"]), best(runs["one"]), best(runs["two"])
    halves = (write_list(work / "half_1.txt", files[: n // 2]), write_list(work / "half_2.txt", files[n // 2 : n]))
    ceiling = min(two_reference_loops(*halves) for _ in range(args.repeat))
    mem_small = calterm_dark(lists[small], work, 1)
    mem_large = calterm_dark(lists[large], work, 1)
    mem2_small = calterm_dark(lists[small], work, 2)
    mem2_large = calterm_dark(lists[large], work, 2)
    mb = np.prod(shape) * 2 / 1e6
    rows = [("numpy loop (1 process, writes 3 .npy)", ref["time_s"], ref),
            ("calterm dark, 1 worker", one["time_s"], one),
            ("calterm dark, 2 workers", two["time_s"], two)]
    if runs["dask"]:
        rows.append(("calterm dark --scheduler (LocalCluster, 2 workers; CPU includes the workers')", best(runs["dask"])["time_s"],
                     best(runs["dask"])))
    print(f"\n{n} frames of {shape[0]}x{shape[1]} uint16 ({mb:.1f} MB each), single-frame TIFF, page cache warm; "
          f"{os.cpu_count()} cores, load average {load} before the runs; best of {args.repeat} (whole process)\n")
    print("| run | loop s | whole process s (start-up, reading, writing) | vs numpy (whole process) "
          "| loop vs numpy loop | CPU s (all processes) | CPU vs numpy |")
    print("|---|---|---|---|---|---|---|")
    for name, compute, r in rows:
        print(f"| {name} | {compute:.2f} | {r['process_s']:.2f} | {r['process_s'] / ref['process_s']:.2f}x | "
              f"{compute / ref['time_s']:.2f}x | {r['process_cpu_s']:.2f} | "
              f"{r['process_cpu_s'] / ref['process_cpu_s']:.2f}x |")
    print(f"| two numpy loops at once, one half each (the machine's ceiling for 2 processes) | {ceiling:.2f} | | | "
          f"{ceiling / ref['time_s']:.2f}x | | |")
    spread = {k: [round(r["process_s"], 2) for r in v] for k, v in runs.items() if v}
    print(f"\nwhole-process seconds of every repeat: {spread}")
    if cluster_start is not None:
        print(f"Dask LocalCluster (2 worker processes) start-up: {cluster_start:.2f} s, paid by every run if local "
              "processes went through Dask")
    print(f"\n| peak RSS (MB) | {small} frames | {large} frames | ratio |")
    print("|---|---|---|---|")
    print(f"| calterm dark, 1 worker | {mem_small['maxrss_mb']:.0f} | {mem_large['maxrss_mb']:.0f} | "
          f"{mem_large['maxrss_mb'] / mem_small['maxrss_mb']:.2f} |")
    print(f"| calterm dark, 2 workers (main / largest worker) | {mem2_small['maxrss_mb']:.0f} / "
          f"{mem2_small['children_maxrss_mb']:.0f} | {mem2_large['maxrss_mb']:.0f} / "
          f"{mem2_large['children_maxrss_mb']:.0f} | {mem2_large['maxrss_mb'] / mem2_small['maxrss_mb']:.2f} |")
    print(f"| numpy loop ({n} frames) | {ref['maxrss_mb']:.0f} | | |")
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"frames": n, "shape": shape, "reference": ref, "one_worker": one, "two_workers": two,
                      "dask": best(runs["dask"]) if runs["dask"] else None, "dask_cluster_start_s": cluster_start,
                      "two_reference_loops_wall_s": ceiling, "runs": spread,
                      "memory": {"small": mem_small, "large": mem_large, "small_2w": mem2_small,
                                 "large_2w": mem2_large}}))


if __name__ == "__main__":
    main()
