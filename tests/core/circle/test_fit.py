"""Single-ring fit on rings pyFAI renders at a known flat geometry (truth: centre and r = D tan 2θ)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from calterm.core.circle.fit import CircleOptions, fit_circle, fit_ring
from calterm.core.circle.points import working_image
from calterm.core.simulate.single_ring import SingleRingCase, clicks_on_ring, render_single_ring
from calterm.errors import ComputationError, InputError

# a full ring around a beam stop with its arm, diffuse scattering, texture and Poisson noise
FULL = SingleRingCase(shape=(400, 420), center=(207.3, 196.8), modulation=0.6, diffuse=400.0, diffuse_px=50.0,
                      beamstop_px=18.0, seed=3)
# an arc: the centre lies 80 px below the bottom edge
ARC = SingleRingCase(shape=(300, 460), center=(231.6, 380.4), peak_intensity=1500.0, modulation=0.3,
                     diffuse=300.0, seed=4)
MISPLACED = {3: 14.0, 8: -25.0}  # point index -> radial displacement (px), both beyond the 10 px window


@pytest.fixture(scope="module")
def full_image():
    return working_image(render_single_ring(FULL))


@pytest.fixture(scope="module")
def arc_image():
    return working_image(render_single_ring(ARC))


def _truth(case):
    return np.array([*case.center, case.radii_px()[0]])


def _displace(case, pts, moves):
    pts = pts.copy()
    for i, dr in moves.items():
        d = pts[i] - case.center
        pts[i] = case.center + d * (1 + dr / np.hypot(*d))
    return pts


def _assert_close(result, case, tol=0.1):
    err = np.abs(np.array(result.circle) - _truth(case))
    assert err.max() < tol, f"centre/radius off by {err} px"


@pytest.fixture(scope="module")
def robust_fit(full_image):
    clicks = _displace(FULL, clicks_on_ring(FULL, 11, start_deg=10, jitter_px=3.0, seed=1), MISPLACED)
    return fit_circle(clicks, full_image)


def test_misplaced_points_are_exactly_the_rejected_ones(robust_fit):
    assert robust_fit.rejected == tuple(sorted(MISPLACED))
    _assert_close(robust_fit, FULL)
    assert robust_fit.method == "points+image"
    # the nine good clicks were moved onto the ring, the misplaced ones (no peak in window) were not
    good = [i for i in range(11) if i not in MISPLACED]
    assert robust_fit.refined[good].all() and not robust_fit.refined[list(MISPLACED)].any()
    assert np.abs(robust_fit.residuals[good]).max() < 0.5
    assert robust_fit.residuals[3] > 10 and robust_fit.residuals[8] < -20
    assert robust_fit.rms < 0.3
    assert all(0 < s < 0.05 for s in (*robust_fit.center_se, robust_fit.radius_se))


def test_points_only_fit_is_also_within_a_tenth_of_a_pixel(full_image):
    clicks = _displace(FULL, clicks_on_ring(FULL, 11, start_deg=10, jitter_px=3.0, seed=1), MISPLACED)
    result = fit_circle(clicks, full_image, CircleOptions(use_image=False))
    assert result.rejected == tuple(sorted(MISPLACED)) and result.method == "points"
    _assert_close(result, FULL)


def test_a_click_within_the_window_is_refined_back_onto_the_ring(full_image):
    clicks = _displace(FULL, clicks_on_ring(FULL, 8, jitter_px=1.0, seed=2), {2: 7.0, 5: -6.0})
    result = fit_circle(clicks, full_image)
    assert result.rejected == ()
    assert result.refined.all()
    assert np.abs(result.residuals).max() < 0.5
    _assert_close(result, FULL)


def test_raw_clicks_without_an_image_still_reject_the_misplaced(full_image):
    clicks = _displace(FULL, clicks_on_ring(FULL, 11, jitter_px=0.4, seed=5), MISPLACED)
    result = fit_circle(clicks, None)
    assert result.rejected == tuple(sorted(MISPLACED))
    _assert_close(result, FULL, tol=0.5)  # raw clicks scatter ±0.4 px: no sub-pixel refinement here


def test_partial_arc_with_centre_outside_the_image(arc_image):
    clicks = clicks_on_ring(ARC, 10, start_deg=215, span_deg=110, jitter_px=3.0, seed=6)
    clicks = _displace(ARC, clicks, {4: 18.0})
    assert (clicks[:, 1] < ARC.shape[0]).all()
    result = fit_circle(clicks, arc_image)
    assert result.rejected == (4,)
    assert result.center[1] > ARC.shape[0]
    _assert_close(result, ARC)
    assert 60 < result.ring_arc_deg < 180


def test_automatic_mode_finds_the_ring_around_a_beam_stop(full_image):
    result = fit_ring(full_image)
    _assert_close(result, FULL)
    assert result.method == "image (automatic)" and result.rejected == () and result.ring_samples > 50


def test_automatic_mode_on_an_arc_centred_outside(arc_image):
    result = fit_ring(arc_image)
    _assert_close(result, ARC)


def test_fixed_center_fits_the_radius_only(full_image):
    clicks = _displace(FULL, clicks_on_ring(FULL, 9, jitter_px=2.0, seed=8), {1: 20.0})
    result = fit_circle(clicks, full_image, fixed_center=FULL.center)
    assert result.center == FULL.center and result.fixed_center
    assert result.rejected == (1,)
    assert abs(result.radius - FULL.radii_px()[0]) < 0.05
    # a wrong fixed centre leaves the ring's radius as the mean distance, with a visible misfit
    off = fit_circle(clicks, full_image, fixed_center=(FULL.center[0] + 3, FULL.center[1]),
                     options=CircleOptions(use_image=False))
    assert off.rms > 1.0


def test_history_has_one_row_per_iteration_and_reproduces_the_fit(full_image):
    clicks = _displace(FULL, clicks_on_ring(FULL, 11, start_deg=10, jitter_px=3.0, seed=1), MISPLACED)
    result = fit_circle(clicks, full_image, CircleOptions(generations=7))
    stages = [row[0] for row in result.history.rows]
    assert stages.count("de") == 7  # one row per generation: DE cannot converge in 7
    assert stages[-1] == "final" and "algebraic" in stages and "mad" in stages and "image" in stages
    assert {"local1", "local2", "local3", "local4"} <= set(stages)
    text = result.history.to_csv_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["stage", "cx", "cy", "r", "cost", "inliers"]
    assert len(rows) == len(result.history) + 1
    final = rows[-1]
    assert (float(final[1]), float(final[2]), float(final[3])) == result.circle  # exact, not approximately
    assert int(final[5]) == 11 - len(result.rejected)
    # de rows: the best member's cost never increases
    de_cost = [float(r[4]) for r in rows[1:] if r[0] == "de"]
    assert all(b <= a + 1e-12 for a, b in zip(de_cost, de_cost[1:], strict=False))


def test_history_csv_file(tmp_path, robust_fit):
    path = tmp_path / "h.csv"
    robust_fit.history.write_csv(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "stage,cx,cy,r,cost,inliers" and len(lines) == len(robust_fit.history) + 1
    assert lines[-1].startswith("final,")


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(10, 10), (20, 30), (40, 10), (30, 50)], "at least 5"),
        ([(10, 10), (20, 20), (30, 30), (40, 40), (50, 50)], "collinear"),
        ([(10, 10), (20, 40), (60, 10), (30, 70), (500, 200)], "outside"),
        ([(10, 10), (20, 40), (60, 10), (30, 70), (float("nan"), 20)], "finite"),
    ],
)
def test_bad_points_are_input_errors(full_image, points, message):
    with pytest.raises(InputError, match=message):
        fit_circle(points, full_image)


def test_points_on_a_short_arc_fail_validation():
    ang = np.radians(np.linspace(0, 15, 7))
    pts = np.column_stack([300 + 400 * np.cos(ang), 100 + 400 * np.sin(ang)])
    with pytest.raises(ComputationError, match="arc"):
        fit_circle(pts, None)


def test_points_that_agree_on_no_circle_fail():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 400, (12, 2))
    with pytest.raises(ComputationError):
        fit_circle(pts, None)


def test_options_are_checked():
    with pytest.raises(InputError):
        CircleOptions(popsize=0)
    with pytest.raises(InputError):
        CircleOptions(mad_threshold=-1)
