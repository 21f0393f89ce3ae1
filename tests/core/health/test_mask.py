"""Masks follow their rules exactly on known statistics; every option is exercised."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.panel_layouts import Panel, load_layout, modules_between_gaps, quadrants
from calterm.core.health.mask import MaskRules, build_mask
from calterm.errors import InputError

SHAPE = (40, 50)


@pytest.fixture(scope="module")
def stats():
    rng = np.random.default_rng(5)
    average = rng.uniform(-50, 2100, SHAPE)
    std = rng.uniform(-1, 12, SHAPE)
    maximum = rng.uniform(250, 400, SHAPE)
    average[0, :6] = [0.0, 1e-9, 2000.0, 2000.0 + 1e-9, np.nan, 500.0]  # boundaries
    std[1, :4] = [0.0, 1e-12, 10.0, 10.0 + 1e-12]
    maximum[2, :2] = [300.0, 300.0 - 1e-9]
    return average, std, maximum


def test_default_rule_is_cxi_make_dials_mask_exactly(stats):
    a, s, m = stats
    result = build_mask(SHAPE, average=a, std=s, bright_max=m)
    with np.errstate(invalid="ignore"):
        good = (a > 0) & (a <= 2000) & (s > 0) & (s <= 10) & (m >= 300)
    np.testing.assert_array_equal(result.mask, ~good)
    assert [bool(result.mask[0, k]) for k in range(4)] == [True, ~good[0, 1], ~good[0, 2], True]
    assert result.mask[0, 4] and result.mask[1, 0] and result.mask[2, 1]  # NaN, std 0, max just below 300
    assert result.counts["average_low"] == int((a <= 0).sum())
    assert result.counts["average_high"] == int((a > 2000).sum())
    assert result.counts["std_low"] == int((s <= 0).sum()) and result.counts["std_high"] == int((s > 10).sum())
    assert result.counts["bright_max_low"] == int((m < 300).sum()) and result.counts["not_finite"] == 1
    assert result.masked == int((~good).sum())


def test_each_bound_is_settable_and_can_be_switched_off(stats):
    a, s, m = stats
    rules = MaskRules(average_min=100, average_max=None, std_min=None, std_max=5, bright_max_min=350)
    result = build_mask(SHAPE, rules, average=a, std=s, bright_max=m)
    with np.errstate(invalid="ignore"):
        good = (a > 100) & (s <= 5) & (m >= 350)
    np.testing.assert_array_equal(result.mask, ~good)
    assert "average_high" not in result.counts and "std_low" not in result.counts


def test_statistical_limits_use_detector_wide_mean_and_sigma(stats):
    a, s, _ = stats
    det = np.zeros(SHAPE, bool)
    det[:, 45:] = True
    rules = MaskRules(average_min=None, average_max=None, std_min=None, std_max=None, bright_max_min=None,
                      average_sigma=1.0, std_sigma=1.5)
    result = build_mask(SHAPE, rules, average=a, std=s, detector_mask=det)
    use = np.isfinite(a) & ~det
    bad_a = np.abs(a - a[use].mean()) > a[use].std()
    bad_s = np.abs(s - s[~det].mean()) > 1.5 * s[~det].std()
    np.testing.assert_array_equal(result.mask, bad_a | bad_s | ~np.isfinite(a) | det)
    assert result.counts["average_sigma"] == int(bad_a.sum()) and result.counts["detector"] == int(det.sum())


def test_border_per_module_from_layout_and_from_detector_gaps():
    modules = [Panel("left", 0, 0, 20, 40), Panel("right", 25, 0, 50, 40)]
    rules = MaskRules(border=2)
    result = build_mask(SHAPE, rules, average=np.full(SHAPE, 10.0), modules=modules)
    expected = np.zeros(SHAPE, bool)
    for x0, x1 in ((0, 20), (25, 50)):
        expected[:, x0:x0 + 2] = expected[:, x1 - 2:x1] = True
        expected[:2, x0:x1] = expected[-2:, x0:x1] = True
    np.testing.assert_array_equal(result.mask, expected)  # the average itself is good everywhere
    assert result.counts["border"] == int(expected.sum())
    gaps = np.zeros(SHAPE, bool)
    gaps[:, 20:25] = True
    assert [(m.x0, m.x1) for m in modules_between_gaps(gaps)] == [(0, 20), (25, 50)]
    from_gaps = build_mask(SHAPE, rules, detector_mask=gaps)
    np.testing.assert_array_equal(from_gaps.mask, expected | gaps)


def test_ranges_from_a_poni_geometry():
    import pyFAI.detectors

    det = pyFAI.detectors.Detector(pixel1=1e-4, pixel2=1e-4, max_shape=SHAPE)
    geo = PoniGeometry(dist=0.05, poni1=0.002, poni2=0.0025, wavelength=1e-10)
    ai = geo.to_pyfai(det)
    tth = np.degrees(ai.twoThetaArray(SHAPE))
    q = ai.qArray(SHAPE)
    rules = MaskRules(tth_range_deg=(1.0, 6.0))
    got = build_mask(SHAPE, rules, geometry=geo, detector=det)
    np.testing.assert_array_equal(got.mask, (tth < 1.0) | (tth > 6.0))
    got = build_mask(SHAPE, MaskRules(q_range_nm=(None, 5.0)), geometry=geo, detector=det)
    np.testing.assert_array_equal(got.mask, q > 5.0)
    d = 20 * np.pi / q
    got = build_mask(SHAPE, MaskRules(d_range_A=(2.0, 8.0)), geometry=geo, detector=det)
    np.testing.assert_array_equal(got.mask, (d < 2.0) | (d > 8.0))
    assert got.counts["d_range"] == int(got.mask.sum()) > 0
    with pytest.raises(InputError, match="PONI"):
        build_mask(SHAPE, MaskRules(tth_range_deg=(1.0, 6.0)))


def test_union_and_intersection_with_files_and_detector_mask(stats):
    a, s, m = stats
    rule_mask = build_mask(SHAPE, average=a, std=s, bright_max=m).mask
    f1 = np.zeros(SHAPE, bool)
    f1[:10] = True
    f2 = np.zeros(SHAPE, bool)
    f2[:, :10] = True
    det = np.zeros(SHAPE, bool)
    det[-1] = True
    kw = dict(average=a, std=s, bright_max=m, detector_mask=det, files=[("f1", f1), ("f2", f2)])
    union = build_mask(SHAPE, combine="union", **kw)
    np.testing.assert_array_equal(union.mask, rule_mask | f1 | f2 | det)
    inter = build_mask(SHAPE, combine="intersection", **kw)
    np.testing.assert_array_equal(inter.mask, (rule_mask & f1 & f2) | det)
    assert inter.counts["file:f1"] == 500 and inter.counts["detector"] == 50
    files_only = build_mask(SHAPE, files=[("f1", f1), ("f2", f2)], combine="intersection")
    np.testing.assert_array_equal(files_only.mask, f1 & f2)


def test_output_conventions(stats):
    a, s, m = stats
    result = build_mask(SHAPE, average=a, std=s, bright_max=m)
    np.testing.assert_array_equal(result.as_output(), result.mask.astype(np.uint8))
    np.testing.assert_array_equal(result.as_output(good=True), (~result.mask).astype(np.uint8))
    assert result.report()["masked"] + result.report()["good"] == result.mask.size


def test_bad_inputs_are_refused():
    with pytest.raises(InputError, match="shape"):
        build_mask(SHAPE, average=np.zeros((3, 3)))
    with pytest.raises(InputError, match="nothing to build"):
        build_mask(SHAPE)
    with pytest.raises(InputError, match="positive"):
        MaskRules(average_sigma=0)
    with pytest.raises(InputError, match="low must be below high"):
        MaskRules(tth_range_deg=(10.0, 1.0))


def test_layouts_text_json_and_quadrants(tmp_path):
    (tmp_path / "l.txt").write_text("# name x0 y0 x1 y1\na 0 0 25 20\nb 25 0 50 20  # right\n")
    (tmp_path / "l.json").write_text('{"panels": [{"name": "a", "x": [0, 25], "y": [0, 20]}, '
                                     '{"name": "b", "x": [25, 50], "y": [0, 20]}]}')
    assert load_layout(tmp_path / "l.txt", SHAPE) == load_layout(tmp_path / "l.json", SHAPE)
    (tmp_path / "bad.txt").write_text("a 0 0 60 20\n")
    with pytest.raises(InputError, match="outside"):
        load_layout(tmp_path / "bad.txt", SHAPE)
    q = quadrants((41, 50))
    assert [p.name for p in q] == ["top-left", "top-right", "bottom-right", "bottom-left"]
    assert q[0].slices == (slice(0, 20), slice(0, 25)) and q[2].slices == (slice(20, 41), slice(25, 50))


def test_share_limit_counts_pixel_rules_on_sensitive_pixels_and_names_the_rule():
    """The limit is on what the pixel rules flag among the pixels the detector does not mask: gaps,
    ranges and files do not count; the message names the rule and its bound."""
    from calterm.core.health.mask import share_problem

    shape = (40, 50)
    rng = np.random.default_rng(1)
    average = rng.normal(500, 5, shape)
    std = rng.uniform(1, 3, shape)
    det = np.zeros(shape, bool)
    det[:, :20] = True  # 40 % gaps
    average[:, 20:32] = 2500  # 12 of the 30 sensitive columns hot: 40 % of the sensitive pixels
    result = build_mask(shape, average=average, std=std, detector_mask=det)
    assert result.shares["average_high"] == pytest.approx(0.4) and result.shares["all pixel rules"] == pytest.approx(0.4)
    problem = share_problem(result, MaskRules())
    assert problem is not None and "average_high (average > 2000) 40.0 %" in problem and "20 %" in problem
    assert share_problem(result, MaskRules(), 0.45) is None and share_problem(result, MaskRules(), None) is None
    average[:, 20:32] = 500
    average[:, 20:25] = 2500  # 5 of 30 columns: 16.7 %, within the limit, whatever the 40 % of gaps
    ok = build_mask(shape, average=average, std=std, detector_mask=det, files=[("big", np.ones(shape, bool))])
    assert ok.masked == ok.mask.size and share_problem(ok, MaskRules()) is None
    assert ok.report()["pixel_rules_fraction"] == pytest.approx(5 / 30)
