"""Dark statistics equal a float64 in-memory reference, however the run is split or where it runs."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.common.jobs import JobContext
from calterm.core.health.dark import DarkOptions, compute_dark
from calterm.core.health.dark_partial import Accumulator, DarkPartial, finished, std_from
from calterm.core.io.frames import FrameRead, expand_sources, plan_units
from calterm.errors import Cancelled, InputError

SHAPE = (24, 30)
N = 48


def dark_run(n=N, shape=SHAPE, seed=1):
    """Pedestal and noise per pixel, with dead, hot and noisy pixels, as uint16 ADU."""
    rng = np.random.default_rng(seed)
    pedestal = rng.uniform(200, 1200, shape)
    noise = rng.uniform(1.0, 6.0, shape)
    noise[3, 4] = 60.0  # noisy
    pedestal[5, 6] = 9000.0  # hot
    frames = pedestal + noise * rng.standard_normal((n, *shape))
    frames[:, 7, 8] = 0.0  # dead
    return np.clip(np.round(frames), 0, 65535).astype(np.uint16)


def write_run(tmp_path, frames):
    """The run as single TIFFs, a multi-frame EDF, a compressed HDF5 stack, an NPY stack, a multi-page TIFF."""
    import fabio.edfimage
    import h5py
    import tifffile

    paths = []
    for i in range(12):
        p = tmp_path / f"single_{i}.tif"
        tifffile.imwrite(p, frames[i])
        paths.append(str(p))
    edf = fabio.edfimage.EdfImage(data=frames[12])
    for f in frames[13:20]:
        edf.append_frame(data=f)
    edf.write(str(tmp_path / "multi.edf"))
    paths.append(str(tmp_path / "multi.edf"))
    with h5py.File(tmp_path / "stack.h5", "w") as h5:
        h5.create_dataset("entry/data/data", data=frames[20:40], chunks=(1, *frames.shape[1:]), compression="gzip")
    paths.append(str(tmp_path / "stack.h5"))
    np.save(tmp_path / "stack.npy", frames[40:44])
    paths.append(str(tmp_path / "stack.npy"))
    tifffile.imwrite(tmp_path / "pages.tif", frames[44:], photometric="minisblack")  # multi-page TIFF
    paths.append(str(tmp_path / "pages.tif"))
    return paths


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dark")
    frames = dark_run()
    return write_run(tmp, frames), frames.astype(np.float64)


def assert_matches(result, ref, ddof=0):
    np.testing.assert_allclose(result.average, ref.mean(0), rtol=1e-6, atol=0)
    np.testing.assert_allclose(result.std, ref.std(0, ddof=ddof), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(result.max, ref.max(0))
    np.testing.assert_array_equal(result.min, ref.min(0))
    assert result.frames_used == len(ref)


@pytest.mark.parametrize("unit_frames", [1, 7, 64])
def test_streaming_equals_reference_for_several_splits(run, unit_frames):
    paths, ref = run
    result = compute_dark(paths, DarkOptions(unit_frames=unit_frames))
    assert_matches(result, ref)
    assert result.std[3, 4] > 40 and result.average[5, 6] > 8000 and result.max[7, 8] == 0


def test_partials_merge_exactly_in_any_split_and_order():
    ref = dark_run().astype(np.float64)
    rng = np.random.default_rng(3)
    for _ in range(3):
        cuts = np.sort(rng.choice(np.arange(1, N), 5, replace=False))
        parts = []
        for block in np.split(ref, cuts):
            acc = Accumulator(SHAPE)
            for i, frame in enumerate(block):
                acc.add(FrameRead("mem", i, frame))
            parts.append(acc.partial())
        order = rng.permutation(len(parts))
        merged = DarkPartial.empty(SHAPE)
        for k in order:
            merged = parts[k].merge(merged) if k % 2 else merged.merge(parts[k])
        np.testing.assert_allclose(finished(merged)["average"], ref.mean(0), rtol=1e-6)
        np.testing.assert_allclose(std_from(merged), ref.std(0), rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(merged.count, N)


@pytest.mark.parametrize("fork", [True, False])
def test_processes_give_the_same_numbers(run, monkeypatch, fork):
    import calterm.core.health.dark_parallel as darkparallel

    monkeypatch.setattr(darkparallel, "_fork_is_safe", lambda: fork)  # spawn is what the TUI gets
    paths, ref = run
    result = compute_dark(paths, DarkOptions(workers=3, unit_frames=8))
    assert_matches(result, ref)


def test_dask_local_cluster_gives_the_same_numbers(run):
    from distributed import Client, LocalCluster

    paths, ref = run
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = compute_dark(paths, DarkOptions(scheduler=client, unit_frames=8, task_frames=6))
    assert_matches(result, ref)


def test_sample_std_divides_by_n_minus_one(run):
    paths, ref = run
    assert_matches(compute_dark(paths, DarkOptions(ddof=1)), ref, ddof=1)


def test_nan_pixels_are_left_out_pixel_by_pixel(tmp_path):
    frames = dark_run(n=10).astype(np.float32)
    frames[2, 1, 1] = np.nan
    frames[5, 1, 1] = np.inf
    np.save(tmp_path / "f.npy", frames)
    result = compute_dark([str(tmp_path / "f.npy")])
    good = np.delete(frames[:, 1, 1].astype(np.float64), [2, 5])
    assert result.count[1, 1] == 8 and result.count[0, 0] == 10
    assert result.average[1, 1] == pytest.approx(good.mean(), rel=1e-9)
    assert result.std[1, 1] == pytest.approx(good.std(), rel=1e-9)
    assert result.max[1, 1] == good.max()


def test_corrupt_frames_are_skipped_and_counted(tmp_path):
    import fabio.edfimage
    import h5py
    import tifffile

    frames = dark_run(n=20)
    for i in range(10):
        tifffile.imwrite(tmp_path / f"f{i:02d}.tif", frames[i])
    data = (tmp_path / "f00.tif").read_bytes()
    (tmp_path / "f10.tif").write_bytes(data[: len(data) // 2])  # truncated TIFF
    (tmp_path / "f11.edf").write_bytes(b"not an image at all" * 20)  # garbage
    fabio.edfimage.EdfImage(data=frames[0]).write(str(tmp_path / "full.edf"))
    data = (tmp_path / "full.edf").read_bytes()
    (tmp_path / "f12.edf").write_bytes(data[: len(data) - 300])  # fabio pads it with zeros and only logs
    (tmp_path / "full.edf").unlink()
    with h5py.File(tmp_path / "stack.h5", "w") as h5:
        ds = h5.create_dataset("data", data=frames[10:20], chunks=(1, *SHAPE), compression="gzip")
        info = ds.id.get_chunk_info(4)
    with open(tmp_path / "stack.h5", "r+b") as fh:  # break frame 4's compressed chunk
        fh.seek(info.byte_offset + 2)
        fh.write(b"\xff" * (info.size - 4))
    paths = expand_sources([str(tmp_path / "f*.tif"), str(tmp_path / "f*.edf"), str(tmp_path / "stack.h5")])
    result = compute_dark(paths)
    good = np.delete(frames, 14, axis=0).astype(np.float64)
    assert_matches(result, good)
    skipped = {(p.replace(str(tmp_path) + "/", ""), f) for p, f, _ in result.skipped}
    assert skipped == {("f10.tif", 0), ("f11.edf", None), ("f12.edf", 0), ("stack.h5::/data", 4)}
    assert result.report()["frames_skipped"] == 4


def test_wrong_shape_is_refused_with_a_clear_message(tmp_path):
    np.save(tmp_path / "a.npy", dark_run(n=3))
    np.save(tmp_path / "b.npy", dark_run(n=2, shape=(24, 31)))
    with pytest.raises(InputError, match=r"b.npy frame 0: shape \(24, 31\) differs from the run's \(24, 30\)"):
        compute_dark([str(tmp_path / "a.npy"), str(tmp_path / "b.npy")])


def test_sigma_clipped_mean_equals_reference(run):
    paths, ref = run
    result = compute_dark(paths, DarkOptions(clip_sigma=1.5, clip_iterations=2))
    keep = np.ones(ref.shape, bool)
    for _ in range(2):
        m = np.where(keep, ref, 0).sum(0) / keep.sum(0)
        s = np.sqrt(np.where(keep, (ref - m) ** 2, 0).sum(0) / keep.sum(0))
        keep = np.abs(ref - m) <= 1.5 * s
    expected = np.where(keep, ref, 0).sum(0) / keep.sum(0)
    np.testing.assert_allclose(result.clipped_mean, expected, rtol=1e-6)
    assert 0.05 < result.clipped_fraction < 0.3
    assert result.passes == 3


def test_outlier_frames_are_gated(tmp_path):
    frames = dark_run(n=30).astype(np.float64)
    frames[[4, 17]] += 400.0  # light leak in two frames
    np.save(tmp_path / "run.npy", frames)
    result = compute_dark([str(tmp_path / "run.npy")], DarkOptions(gate_sigma=5.0))
    assert sorted(f for _, f, _ in result.gated) == [4, 17]
    assert_matches(result, np.delete(frames, [4, 17], axis=0))
    by_range = compute_dark([str(tmp_path / "run.npy")], DarkOptions(gate_range=(None, frames[0].mean() + 200)))
    assert sorted(f for _, f, _ in by_range.gated) == [4, 17]


def test_cancel_stops_the_job(run):
    paths, _ = run
    ctx = JobContext()
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        compute_dark(paths, ctx=ctx)


def test_progress_is_reported(run):
    paths, _ = run
    seen = []
    compute_dark(paths, ctx=JobContext(progress=seen.append))
    assert seen[-1].done == N and seen[-1].stage == "dark statistics"


def test_sources_globs_in_natural_order_and_list_files(tmp_path):
    for i in (1, 2, 10):
        (tmp_path / f"frame_{i}.tif").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "list.txt").write_text("# run 7\n../frame_10.tif\n\n" + str(tmp_path / "frame_?.tif") + "\n")
    got = expand_sources([str(tmp_path / "frame_*.tif")], [str(tmp_path / "sub" / "list.txt")])
    names = [p.rsplit("/", 1)[-1] for p in got]
    assert names == ["frame_1.tif", "frame_2.tif", "frame_10.tif", "frame_10.tif", "frame_1.tif", "frame_2.tif"]
    with pytest.raises(InputError, match="no file matches"):
        expand_sources([str(tmp_path / "nothing_*.tif")])
    with pytest.raises(InputError, match="no such file"):
        expand_sources([str(tmp_path / "missing.tif")])


def test_eiger_master_file_is_read_through_its_links(tmp_path):
    import h5py

    frames = dark_run(n=10)
    for k, block in enumerate((frames[:6], frames[6:]), start=1):
        with h5py.File(tmp_path / f"run_data_{k:06d}.h5", "w") as h5:
            h5["entry/data/data"] = block
    with h5py.File(tmp_path / "run_master.h5", "w") as h5:
        for k in (1, 2):
            h5[f"entry/data/data_{k:06d}"] = h5py.ExternalLink(f"run_data_{k:06d}.h5", "/entry/data/data")
    units = plan_units([str(tmp_path / "run_master.h5")], max_frames=4)
    assert [u.n_frames for u in units] == [4, 2, 4]
    assert_matches(compute_dark([str(tmp_path / "run_master.h5")]), frames.astype(np.float64))


def test_float32_work_buffer_is_exact_enough_for_extreme_16_bit_values(tmp_path):
    rng = np.random.default_rng(9)
    frames = rng.integers(0, 65536, (40, 8, 9), dtype=np.uint16)  # deviations up to 65535
    frames[:, 0, 0] = np.where(np.arange(40) % 2, 65535, 0)
    np.save(tmp_path / "wide.npy", frames)
    np.save(tmp_path / "mixed.npy", frames[:5].astype(np.int32) - 70000)  # a wider type joins the run
    assert_matches(compute_dark([str(tmp_path / "wide.npy")]), frames.astype(np.float64))
    both = np.concatenate([frames, frames[:5].astype(np.int32) - 70000]).astype(np.float64)
    assert_matches(compute_dark([str(tmp_path / "wide.npy"), str(tmp_path / "mixed.npy")]), both)


def test_float32_block_sums_stay_exact_over_many_blocks_of_extreme_values(tmp_path):
    """Sums of x - K run in float32 blocks of S1_BLOCK frames: 600 frames 65535 away from the first
    (the largest deviation a 16-bit frame gives) sum to 3.9e7 > 2**24, beyond float32's exact
    integers; per block they stay exact, so the mean is the float64 one to the last bit."""
    from calterm.core.health.dark_partial import S1_BLOCK

    n = 600
    assert n > 2 * S1_BLOCK and S1_BLOCK * 65535 < 2**24
    frames = np.full((n, 4, 5), 65535, np.uint16)
    frames[0] = 0  # the shift K: every later deviation is 65535
    frames[1:, 1, :] = np.arange(5) * 13107  # other pixels: a spread of values
    np.save(tmp_path / "extreme.npy", frames)
    result = compute_dark([str(tmp_path / "extreme.npy")], DarkOptions(unit_frames=1000))
    truth = frames.astype(np.float64)
    np.testing.assert_array_equal(result.average[0], truth.mean(0)[0])
    np.testing.assert_allclose(result.average, truth.mean(0), rtol=1e-15)
    # the first frame, 65535 away from every other value, shifts only the first block (16 frames, whose
    # float32 squares round): K then moves to the running mean and the squares are exact. 3e-7 at worst
    # here; 1.2e-5 when K stayed the first frame for the whole run
    np.testing.assert_allclose(result.std, truth.std(0), rtol=1e-6)
