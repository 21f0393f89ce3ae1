"""Frames of NaN/Inf (a readout failure) are skipped and counted, not averaged in as if they were frames;
frames with a few non-finite pixels give their finite pixels; inverted ranges are bad input."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.health.dark import DarkOptions, compute_dark
from calterm.errors import InputError

SHAPE = (24, 30)


def float_run(tmp_path, n=20, seed=2):
    rng = np.random.default_rng(seed)
    frames = (rng.uniform(100, 900, SHAPE) + rng.uniform(1, 4, SHAPE) * rng.standard_normal((n, *SHAPE)))
    return frames.astype(np.float32)


@pytest.mark.parametrize("bad_at", [0, 7, 19])  # the first frame (the accumulator's shift), a middle, the last
@pytest.mark.parametrize("workers", [1, 2])
def test_all_nan_and_all_inf_frames_are_skipped_and_counted(tmp_path, bad_at, workers):
    frames = float_run(tmp_path)
    good = np.delete(frames, bad_at, axis=0).astype(np.float64)
    broken = frames.copy()
    broken[bad_at] = np.nan
    inf_frame = np.full(SHAPE, np.inf, np.float32)
    inf_frame[:2] = np.nan  # a mix of both, no finite value
    np.save(tmp_path / "run.npy", broken)
    np.save(tmp_path / "inf.npy", inf_frame[None])
    result = compute_dark([str(tmp_path / "run.npy"), str(tmp_path / "inf.npy")], DarkOptions(workers=workers))
    assert result.frames_used == len(good)
    assert result.frames_nonfinite == 2
    reasons = sorted((s[0].rsplit("/", 1)[-1], s[1]) for s in result.skipped)
    assert reasons == sorted([("run.npy", bad_at), ("inf.npy", 0)])
    np.testing.assert_allclose(result.average, good.mean(0), rtol=1e-6)
    np.testing.assert_allclose(result.std, good.std(0), rtol=1e-5)
    np.testing.assert_array_equal(result.max, good.max(0))
    report = result.report()
    assert report["frames_nonfinite"] == 2 and report["frames_skipped"] == 2
    assert all("NaN" in s["reason"] for s in report["skipped"])


def test_a_frame_with_a_few_nan_pixels_gives_its_finite_pixels(tmp_path):
    frames = float_run(tmp_path).astype(np.float64)
    frames[3, :2, :5] = np.nan  # 10 of 720 pixels: a module reading out NaN once
    frames[5, 0, 0] = np.inf
    np.save(tmp_path / "run.npy", frames.astype(np.float32))
    result = compute_dark([str(tmp_path / "run.npy")])
    assert result.frames_used == 20 and result.frames_nonfinite == 0 and result.frames_partly_nonfinite == 2
    finite = np.where(np.isfinite(frames), frames, np.nan)
    np.testing.assert_allclose(result.average, np.nanmean(finite, 0), rtol=1e-6)
    assert result.count[0, 0] == 18 and result.count[1, 4] == 19 and result.count[5, 5] == 20
    assert result.report()["frames_partly_nonfinite"] == 2


@pytest.mark.parametrize("gate", [(500.0, 100.0), (100.0, 100.0)])
def test_an_inverted_or_empty_gate_range_is_bad_input(gate):
    with pytest.raises(InputError, match="gate range"):
        DarkOptions(gate_range=gate)
