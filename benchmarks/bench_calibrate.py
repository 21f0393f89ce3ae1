"""calterm's geometry calibration against pyFAI's own scripted pipeline, on the same images.

    python benchmarks/bench_calibrate.py [--cases NAME,...] [--repeat N] [--out docs/benchmarks.md]

For every case (see ``cases.py``) the image is rendered once by pyFAI at a known geometry and
written to a TIFF (not timed); then, in one process and in the same run:

* calterm: ``calterm.core.calibrate.pipeline.calibrate`` from the typed start values, then the PONI file
  written (wall time from image load to PONI written); and the same through ``calterm calibrate``
  in a fresh process (``calterm CLI``: interpreter start-up and imports included);
* pyFAI, click path: Massif-snapped clicks on rings 1-4 with correct labels, ``extract_cp`` over
  every reachable ring, ``refine3`` until no improvement (see ``pyfai_pipeline.py``);
* pyFAI, automatic path: the same extraction and refinement from the typed start values alone.

Each result is compared with the truth: max |Δ2θ| over the detector, beam-centre error (px),
distance error. A result counts as correct when its rings sit within half a pixel of the true
rings everywhere on the detector (max |Δ2θ| ≤ ½ pixel / distance); calterm must also not call a
correct fit doubtful nor a wrong one good. ``--out`` writes the markdown report; when the file
already has a ``## Geometry calibration`` section, only that section's body is replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyfai_pipeline  # noqa: E402
from calterm.core.common.geometry import PoniGeometry, max_tth_error_deg  # noqa: E402
from cases import BenchCase, all_cases, image_path, person_review, simulated_clicks  # noqa: E402

SECTION = "## Geometry calibration"


@dataclass
class Run:
    """One program's outcome on one case, judged against the truth."""

    program: str
    geometry: PoniGeometry | None
    time_s: float
    times_s: list[float] = field(default_factory=list)
    cpu_s: float = math.nan  # CPU seconds of every thread (a busy machine inflates wall time, not this)
    error: str | None = None
    verdict: str | None = None  # calterm only: good / doubtful / failed, with reasons
    n_points: int = 0
    n_rings: int = 0
    rms_rad: float = math.nan
    stages_s: dict[str, float] = field(default_factory=dict)
    max_tth_deg: float = math.nan
    centre_px: float = math.nan
    dist_pct: float = math.nan
    correct: bool = False
    deterministic: bool = True

    @property
    def status(self) -> str:
        """What a user would have got: a correct geometry, an honest refusal, or a silent error."""
        if not self.deterministic:
            return self._status() + " (result varies between runs)"
        return self._status()

    def _status(self) -> str:
        if self.geometry is None:
            return f"error: {self.error}" if self.error else "not available"
        if self.verdict is None:  # pyFAI never judges its own fit
            return "correct" if self.correct else "WRONG, no warning"
        good = self.verdict.startswith("good")
        if self.correct:
            return "correct" if good else f"correct but called {self.verdict}"
        return f"wrong, flagged {self.verdict}" if not good else "WRONG, called good"


def judge(run: Run, case: BenchCase) -> Run:
    if run.geometry is None:
        return run
    det = case.detector()
    run.max_tth_deg = max_tth_error_deg(run.geometry, case.truth, det, det.shape, step=4)
    run.centre_px = float(np.hypot(*np.subtract(run.geometry.beam_center_px(det), case.true_center_xy())))
    run.dist_pct = 100.0 * (run.geometry.dist / case.truth.dist - 1.0)
    run.correct = run.max_tth_deg <= half_pixel_deg(case)
    return run


def half_pixel_deg(case: BenchCase) -> float:
    det = case.detector()
    return math.degrees(0.5 * det.pixel1 / case.truth.dist)


def calterm_available() -> bool:
    try:
        import calterm.core.calibrate.pipeline  # noqa: F401
    except ImportError:
        return False
    return True


def run_calterm(case: BenchCase, image: Path, workdir: Path) -> Run:
    """calterm's core call from the file, then the PONI written: what ``calterm calibrate`` does."""
    from calterm.core.calibrate.model import CalibrationRequest
    from calterm.core.calibrate.pipeline import calibrate
    from calterm.errors import CaltermError

    request = CalibrationRequest(
        image_path=str(image), calibrant=case.calibrant, wavelength_m=case.wavelength_m,
        detector=case.synthetic.detector, distance_mm=case.typed_distance_mm(), center_xy=case.typed_center_xy(),
        pixel_size_um=None if case.synthetic.detector else case.synthetic.pixel_size_um,
    )
    poni = workdir / f"{case.name}.calterm.poni"
    c0, t0 = time.process_time(), time.perf_counter()
    try:
        result = calibrate(request)
        _write_calterm_poni(result, poni)
    except CaltermError as exc:
        return Run("calterm", None, time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a traceback is a defect to report, not a reason to stop the benchmark
        return Run("calterm", None, time.perf_counter() - t0, error=f"CRASH {type(exc).__name__}: {exc}")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    reasons = "; ".join(result.verdict.reasons)
    return Run(
        "calterm", result.geometry, elapsed, cpu_s=cpu,
        verdict=result.verdict.status + (f" ({reasons})" if reasons and not result.verdict.ok else ""),
        n_points=int(result.rows.size), n_rings=int(np.unique(result.ring).size),
        rms_rad=float(np.sqrt(np.mean(result.residual_rad**2))), stages_s=dict(result.timings_s),
    )


def _write_calterm_poni(result, path: Path) -> None:
    import calterm.core.calibrate.pipeline as cal

    if hasattr(cal, "write_poni"):
        cal.write_poni(result, path, "bench_calibrate")
        return
    from calterm.core.common.geometry import poni_text
    from calterm.core.io.versions import write_versioned

    text = poni_text(result.geometry, result.detector)
    write_versioned(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "bench_calibrate")


def cli_available() -> bool:
    return (Path(__file__).resolve().parents[1] / "src" / "calterm" / "cli" / "calibrate.py").is_file()


def run_cli(case: BenchCase, image: Path, workdir: Path) -> Run:
    """``calterm calibrate`` as a user types it: interpreter start-up and imports included."""
    import json
    import subprocess

    poni = workdir / f"{case.name}.cli.poni"
    x, y = case.typed_center_xy()
    cmd = [sys.executable, "-m", "calterm", "calibrate", str(image), "--calibrant", case.calibrant,
           "--wavelength", repr(case.wavelength_m * 1e10), "--distance", repr(case.typed_distance_mm()),
           f"--center={x},{y}", "--poni", str(poni), "--json"]  # "=": a negative x is not an option
    if case.synthetic.detector:
        cmd += ["--detector", case.synthetic.detector]
    else:
        cmd += ["--pixel-size", repr(case.synthetic.pixel_size_um)]
    import resource

    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    try:
        doc = json.loads(proc.stdout)
        geometry = PoniGeometry(**{k: doc["geometry"][k] for k in
                                   ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength")})
    except (ValueError, KeyError, TypeError):
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Run("calterm CLI", None, elapsed, error=f"exit {proc.returncode}: {last}", cpu_s=cpu)
    verdict = doc.get("verdict", {})
    status = verdict.get("status", f"exit {proc.returncode}")
    reasons = "; ".join(verdict.get("reasons", []))
    return Run("calterm CLI", geometry, elapsed, cpu_s=cpu,
               verdict=status + (f" ({reasons})" if reasons and status != "good" else ""),
               n_points=int(doc.get("n_points", 0)), n_rings=len(doc.get("rings", [])),
               rms_rad=math.radians(doc.get("rms_2th_deg", math.nan)))


def run_pyfai(path: str, case: BenchCase, image: Path, workdir: Path) -> Run:
    start = pyfai_pipeline.StartValues(
        str(image), case.detector_spec(), case.calibrant, case.wavelength_m, case.typed_distance_mm(),
        case.typed_center_xy(),
    )
    poni = workdir / f"{case.name}.pyfai-{path}.poni"
    seed = case.synthetic.seed
    clicks, review = simulated_clicks(case), person_review(case)  # where the person clicks: not timed
    c0 = time.process_time()
    if path == "clicks":
        res = pyfai_pipeline.clicks(start, clicks, poni, seed=seed, review=review)
    else:
        res = pyfai_pipeline.automatic(start, poni, seed=seed)
    cpu = time.process_time() - c0
    stages, previous = {}, 0.0
    for stage, cumulative in res.stages_s.items():  # pyFAI's stages are cumulative: report durations
        stages[stage], previous = cumulative - previous, cumulative
    return Run(
        f"pyFAI {path}", res.geometry, res.time_s, cpu_s=cpu, error=res.error, n_points=res.n_points,
        n_rings=res.n_rings, rms_rad=res.rms_rad, stages_s=stages,
    )


def warm_up() -> None:
    """Import everything both programs use, so neither pays the other's import time."""
    import fabio  # noqa: F401
    import pyFAI.calibrant  # noqa: F401
    import pyFAI.detectors  # noqa: F401
    import pyFAI.geometryRefinement  # noqa: F401
    import pyFAI.goniometer  # noqa: F401
    import pyFAI.massif  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import scipy.optimize  # noqa: F401
    import tifffile  # noqa: F401

    if calterm_available():
        import calterm.core.calibrate.pipeline  # noqa: F401


def bench_case(case: BenchCase, programs: list[str], repeat: int, cache: Path, workdir: Path,
               log) -> list[Run]:
    """Run every program ``repeat`` times; report the median time and that run's stage times.

    The geometry must not change between repeats (everything random is seeded): a program whose
    result varies is marked so in its status.
    """
    image = image_path(case, cache)
    runs: dict[str, list[Run]] = {p: [] for p in programs}
    for k in range(repeat):
        # alternate the order so a burst of load from other processes does not always hit one program
        order = programs if k % 2 == 0 else programs[::-1]
        for program in order:
            if program == "pyFAI automatic" and k > 0:
                continue  # it fails anyway; one timing is enough
            if program == "calterm":
                run = run_calterm(case, image, workdir) if calterm_available() else Run("calterm", None, math.nan)
            elif program == "calterm CLI":
                run = run_cli(case, image, workdir) if cli_available() else Run("calterm CLI", None, math.nan)
            else:
                run = run_pyfai(program.split()[1], case, image, workdir)
            runs[program].append(judge(run, case))
            log(f"  {case.name:24s} {program:16s} {run.time_s:7.2f} s  cpu {run.cpu_s:6.2f} s  {run.status}")
    out = []
    for program in programs:
        tries = runs[program]
        if not tries:
            continue
        times = [r.time_s for r in tries]
        median = tries[int(np.argsort(times)[(len(times) - 1) // 2])] if all(map(math.isfinite, times)) else tries[0]
        median.times_s = times
        cpus = [r.cpu_s for r in tries if math.isfinite(r.cpu_s)]
        median.cpu_s = float(np.median(cpus)) if cpus else math.nan
        vectors = [r.geometry.as_vector() for r in tries if r.geometry is not None]
        if (vectors and len(vectors) != len(tries)) or any(not np.array_equal(v, vectors[0]) for v in vectors):
            median.deterministic = False
        out.append(median)
    return out


def fmt(x: float, spec: str) -> str:
    return "–" if x is None or not math.isfinite(x) else format(x, spec)


def markdown(results: dict[str, list[Run]], command: str, repeat: int, load: tuple[float, float]) -> str:
    import pyFAI

    omp = os.environ.get("OMP_NUM_THREADS")

    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} cores ({platform.machine()}), shared with other jobs; load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end. pyFAI {pyFAI.version}, Python "
        f"{platform.python_version()}. Times are wall-clock seconds from image load to PONI written"
        + (f", median of {repeat} runs interleaved" if repeat > 1 else "")
        + (f"; OMP_NUM_THREADS={omp}" if omp else "") + ". The `calterm CLI` row is the same calibration run as "
        "`calterm calibrate ... --poni OUT --json` in a fresh process, interpreter start-up and imports included.",
        "",
        "Start values typed by the user: distance ±5 %, beam centre 10-20 px off, no tilt. pyFAI's click path "
        "also gets a person's clicks on rings 1-4 with the right ring numbers (3 per ring, snapped by Massif "
        "as pyFAI-calib2 does; a click whose points miss the ring is undone). *Correct* = every ring within "
        "half a pixel of the truth over the whole detector.",
        "",
        "| case | program | result | max \\|Δ2θ\\| (°) | centre error (px) | distance error (%) | rings / points "
        "| RMS (mrad) | time (s) | best time (s) | CPU (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        for run in runs:
            lines.append(
                f"| {name} | {run.program} | {run.status} | {fmt(run.max_tth_deg, '.2e')} | "
                f"{fmt(run.centre_px, '.3f')} | {fmt(run.dist_pct, '+.3f')} | "
                f"{f'{run.n_rings} / {run.n_points}' if run.geometry is not None else '–'} | "
                f"{fmt(run.rms_rad * 1e3, '.3f')} | {fmt(run.time_s, '.2f')} | "
                f"{fmt(min(run.times_s, default=math.nan), '.2f')} | {fmt(run.cpu_s, '.2f')} |"
            )
    lines += ["", "Ratios in the same run (pyFAI's click path ÷ calterm; > 1 means calterm is better). Wall time "
              "is the median; *best* compares each program's fastest run (least disturbed by other jobs); CPU "
              "compares CPU seconds. The CLI ratio uses calterm's fresh-process run (start-up and imports "
              "included) against pyFAI's in-process run.", "",
              "| case | time (median) | time (best) | CPU | time, calterm CLI | accuracy (max \\|Δ2θ\\|) "
              "| centre error |", "|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        by = {r.program: r for r in runs}
        ct, cli, pc = by.get("calterm"), by.get("calterm CLI"), by.get("pyFAI clicks")
        if not ct or not pc or ct.geometry is None or pc.geometry is None:
            lines.append(f"| {name} |" + " not available |" * 6)
            continue
        cli_ratio = fmt(pc.time_s / cli.time_s, ".1f") if cli and cli.geometry is not None else "not available"
        lines.append(
            f"| {name} | {fmt(pc.time_s / ct.time_s, '.1f')} | {fmt(min(pc.times_s) / min(ct.times_s), '.1f')} | "
            f"{fmt(pc.cpu_s / ct.cpu_s, '.1f')} | {cli_ratio} | "
            f"{fmt(pc.max_tth_deg / max(ct.max_tth_deg, 1e-12), '.2f')} | "
            f"{fmt(pc.centre_px / max(ct.centre_px, 1e-6), '.2f')} |"
        )
    lines += ["", "Cases:", ""]
    for name in results:
        case = all_cases().get(name)
        if case:
            lines.append(f"- `{name}`: {case.description}; typed {case.typed_distance_mm()} mm, "
                         f"centre {case.typed_center_xy()} (truth {tuple(round(v, 1) for v in case.true_center_xy())}).")
    lines += ["", "Time per stage (s):", ""]
    for name, runs in results.items():
        for run in runs:
            if run.stages_s:
                stages = ", ".join(f"{k} {v:.2f}" for k, v in run.stages_s.items())
                lines.append(f"- {name}, {run.program}: {stages}")
    return "\n".join(lines) + "\n"


def write_report(path: Path, body: str) -> None:
    """Replace the body of our section if the file has it; otherwise write the report alone."""
    from calterm.core.io.versions import atomic_write_text

    if path.is_file() and SECTION in path.read_text(encoding="utf-8"):
        text = path.read_text(encoding="utf-8")
        head, rest = text.split(SECTION, 1)
        title_line, _, after = rest.partition("\n")
        nxt = after.find("\n## ")
        tail = after[nxt + 1 :] if nxt >= 0 else ""
        atomic_write_text(path, f"{head}{SECTION}{title_line}\n\n{body}\n{tail}")
    else:
        atomic_write_text(path, f"{SECTION}\n\n{body}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(all_cases()), help="comma-separated case names")
    parser.add_argument("--programs", default="calterm,calterm CLI,pyFAI clicks,pyFAI automatic",
                        help="comma-separated subset of: calterm, calterm CLI, pyFAI clicks, pyFAI automatic")
    parser.add_argument("--omp-threads", type=int, default=None,
                        help="set OMP_NUM_THREADS for both programs (pyFAI's OpenMP loops stall on a busy machine)")
    parser.add_argument("--repeat", type=int, default=1, help="time each program N times (median)")
    parser.add_argument("--out", type=Path, help="markdown report (replaces our section if present)")
    parser.add_argument("--cache", type=Path, default=None, help="where rendered images are kept")
    args = parser.parse_args(argv)
    if args.omp_threads:  # before pyFAI's compiled modules load the OpenMP runtime
        os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)
    logging.getLogger("pyFAI").setLevel(logging.ERROR)
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in all_cases()]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(all_cases())}")
    programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    from calterm.core.simulate.demo import cache_dir

    cache = args.cache or cache_dir() / "bench"
    load0 = os.getloadavg()[0]
    warm_up()
    results: dict[str, list[Run]] = {}
    cache.mkdir(parents=True, exist_ok=True)
    # PONI files go beside the cached images, not in /tmp (other jobs sweep /tmp while we run)
    with tempfile.TemporaryDirectory(prefix="run-", dir=cache) as tmp:
        for name in names:
            results[name] = bench_case(all_cases()[name], programs, args.repeat, cache, Path(tmp),
                                       lambda s: print(s, file=sys.stderr, flush=True))
    command = "python benchmarks/bench_calibrate.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    report = markdown(results, command.strip(), args.repeat, (load0, os.getloadavg()[0]))
    if args.out:
        write_report(args.out, report)
    with contextlib.suppress(BrokenPipeError):
        print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
