"""Run one statistics pass over a run's units: in this process, over local processes, or on Dask.

Every path computes the same :class:`~calterm.core.health.dark_partial.DarkPartial` per task and merges
them with the same exact formula, so the numbers do not depend on where the work ran. Local
parallelism uses processes (file decoders and the per-frame Python work hold the GIL, so threads
would mostly take turns); beyond one machine we rely on Dask distributed rather than home-made
cluster code: tasks are mapped on the cluster and their partials merged pairwise *on the workers*
as they finish, so only the final statistics travel back. Workers must see the same file paths
(a shared filesystem), as with any cluster reading beamline data.

Partials travel between processes by the executors' own serialization; nothing is written to disk.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from calterm.core.common.jobs import JobContext
from calterm.core.health.dark_partial import DarkPartial, FrameKey, accumulate_units
from calterm.core.io.frames import FrameUnit
from calterm.errors import InputError


@dataclass(frozen=True)
class PassSpec:
    """What one pass computes: optional per-pixel window (sigma clipping), excluded frames, frame means."""

    window: tuple[np.ndarray, np.ndarray] | None = None
    exclude: frozenset[FrameKey] = frozenset()
    record_means: bool = False


def estimated_frames(units: Sequence[FrameUnit]) -> int:
    """Frames in the run as far as headers tell (a fabio file counts 1 until read)."""
    return sum(u.n_frames if u.n_frames is not None else 1 for u in units)


def split_tasks(units: Sequence[FrameUnit], n_tasks: int) -> list[list[FrameUnit]]:
    """Consecutive units grouped into about ``n_tasks`` tasks of similar frame counts."""
    n_tasks = max(1, min(n_tasks, len(units)))
    target = estimated_frames(units) / n_tasks
    tasks: list[list[FrameUnit]] = [[]]
    size = 0
    for unit in units:
        if tasks[-1] and size >= target and len(tasks) < n_tasks:
            tasks.append([])
            size = 0
        tasks[-1].append(unit)
        size += unit.n_frames if unit.n_frames is not None else 1
    return tasks


def run_pass(units: Sequence[FrameUnit], shape: tuple[int, int], spec: PassSpec, ctx: JobContext,
             stage: str, workers: int = 1, scheduler=None, task_frames: int = 64) -> DarkPartial:
    """One pass over ``units``; ``scheduler`` is a Dask address or ``distributed.Client``."""
    total = estimated_frames(units)
    if scheduler is not None:
        return _run_dask(units, shape, spec, ctx, stage, scheduler, task_frames, total)
    if workers > 1 and len(units) > 1:
        return _run_processes(units, shape, spec, ctx, stage, workers, task_frames, total)
    return _run_here(units, shape, spec, ctx, stage, total)


def _run_here(units, shape, spec: PassSpec, ctx: JobContext, stage: str, total: int) -> DarkPartial:
    done = 0
    last = 0.0

    def on_frame() -> None:
        nonlocal done, last
        done += 1
        now = time.perf_counter()
        if now - last > 0.1:  # a progress report per frame would cost more than the frame
            last = now
            ctx.report(stage, done, max(total, done))
        else:
            ctx.check()

    partial = accumulate_units(units, shape, spec.window, spec.exclude, spec.record_means, on_frame)
    ctx.report(stage, done, done)
    return partial


def _n_tasks(units, workers: int, task_frames: int, total: int) -> int:
    return max(workers * 2, math.ceil(total / max(task_frames, 1)))


_FRAMES_DONE = None  # in a worker process: the shared frame counter the parent reads for progress


def _init_worker(counter) -> None:
    global _FRAMES_DONE
    _FRAMES_DONE = counter


def _tick() -> None:
    with _FRAMES_DONE.get_lock():  # type: ignore[union-attr]
        _FRAMES_DONE.value += 1  # type: ignore[union-attr]


def _worker_task(units, shape, window, exclude, record_means) -> DarkPartial:
    return accumulate_units(units, shape, window, exclude, record_means, _tick)


def _run_processes(units, shape, spec, ctx, stage, workers, task_frames, total) -> DarkPartial:
    """Split the run into one share per worker; this process reads the last share itself.

    One share per worker because each partial costs a transfer and a merge of five images;
    progress comes from a frame counter the workers share. Working here too saves one interpreter
    start and one transfer, and keeps progress and cancellation in this process's loop. On cancel,
    a worker already reading finishes its share in the background and its result is dropped.
    """
    tasks = split_tasks(units, workers)
    if len(tasks) == 1:
        return _run_here(units, shape, spec, ctx, stage, total)
    # fork only when this process runs no other thread (the CLI): fork copies locks other threads
    # may hold, so the TUI (with its worker threads) pays an interpreter start per worker instead.
    mp = multiprocessing.get_context("fork" if _fork_is_safe() else "spawn")
    counter = mp.Value("q", 0)
    pool = ProcessPoolExecutor(max_workers=len(tasks) - 1, mp_context=mp, initializer=_init_worker,
                               initargs=(counter,))
    try:
        futures = [pool.submit(_worker_task, t, shape, spec.window, spec.exclude, spec.record_means)
                   for t in tasks[:-1]]
        own = 0
        last = 0.0

        def on_frame() -> None:
            nonlocal own, last
            own += 1
            now = time.perf_counter()
            if now - last > 0.1:
                last = now
                done = own + counter.value
                ctx.report(stage, done, max(total, done))
            else:
                ctx.check()

        ctx.report(stage, 0, total)
        result = accumulate_units(tasks[-1], shape, spec.window, spec.exclude, spec.record_means, on_frame)
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                result = result.merge(fut.result())
            done = own + counter.value
            ctx.report(stage, done, max(total, done))
    finally:
        pool.shutdown(wait=not ctx.cancel.is_set, cancel_futures=True)
    # merge order changes rounding only: partials of the same frames agree to ~1e-15
    return result


def _fork_is_safe() -> bool:
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def _merge(a: DarkPartial, b: DarkPartial) -> DarkPartial:
    return a.merge(b)


def _connect(scheduler):
    """A ``distributed.Client`` from an address (or the client itself); bad addresses exit 2."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(str(scheduler), timeout="10s"), True
    except Exception as exc:
        raise InputError(f"cannot reach Dask scheduler {scheduler}: {type(exc).__name__}: {exc}") from exc


def _run_dask(units, shape, spec, ctx, stage, scheduler, task_frames, total) -> DarkPartial:
    from distributed import as_completed

    client, owned = _connect(scheduler)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        tasks = split_tasks(units, _n_tasks(units, n_workers, task_frames, total))
        window = client.scatter(spec.window, broadcast=True) if spec.window is not None else None
        sizes = {}
        futures = []
        for t in tasks:
            fut = client.submit(accumulate_units, t, shape, window, spec.exclude, spec.record_means, pure=False)
            sizes[fut.key] = sum(u.n_frames or 1 for u in t)
            futures.append(fut)
        ctx.report(stage, 0, total)
        done = 0
        spare = None
        queue = as_completed(futures)
        for fut in queue:  # pairwise tree merge on the workers as tasks finish
            if ctx.cancel.is_set:
                client.cancel(futures)
                ctx.check()
            if fut.key in sizes:
                done += sizes.pop(fut.key)
                ctx.report(stage, done, max(total, done))
            if spare is None:
                spare = fut
            else:
                queue.add(client.submit(_merge, spare, fut, pure=False))
                spare = None
        return spare.result() if spare is not None else DarkPartial.empty(shape)
    except InputError:
        raise
    except Exception as exc:
        if type(exc).__name__ == "InputError":  # raised on a worker and re-raised here
            raise InputError(str(exc)) from None
        raise
    finally:
        if owned:
            client.close()
