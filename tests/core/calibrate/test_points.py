"""Typed points: single-peak search and growing one click into its whole ring."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import prepare
from calterm.core.calibrate.points import grow_ring, refine_peak
from calterm.errors import InputError


@pytest.fixture(scope="module")
def pilatus(rendered):
    case = rendered("pilatus")
    prep = prepare(CalibrationRequest(str(case.path), "LaB6", case.truth.wavelength, detector="Pilatus1M"))
    return case, prep


def test_single_peak_search_lands_on_the_clicked_ring(pilatus):
    case, prep = pilatus
    bx, by = case.beam_xy
    tth1 = prep.tth_rad[0]
    r1 = case.truth.dist * math.tan(tth1) / case.detector.pixel1  # ring 1 radius, px (tilt is small)
    x, y = refine_peak(prep.image.data, prep.valid, bx + r1 + 2.5, by, search_size=10)  # a click 2.5 px out
    tth = case.truth.tth(case.detector, np.array([y]), np.array([x]))[0]
    assert abs(tth - tth1) < abs(tth - prep.tth_rad[1]) / 10  # on ring 1, not its brighter neighbour
    with pytest.raises(InputError, match="outside"):
        refine_peak(prep.image.data, prep.valid, -50, 10)


@pytest.mark.parametrize("centre_error", [(0, 0), (12, -9), (-20, 15)])
def test_ring_grows_all_round_from_a_rough_centre(pilatus, centre_error):
    case, prep = pilatus
    bx, by = case.beam_xy
    r1 = case.truth.dist * math.tan(prep.tth_rad[0]) / case.detector.pixel1
    seed = (bx + r1 / math.sqrt(2), by + r1 / math.sqrt(2))
    pts = grow_ring(prep.image.data, prep.valid, (bx + centre_error[0], by + centre_error[1]), seed, 1, prep.d_A[0])
    angle = np.degrees(np.arctan2(pts.rows - by, pts.cols - bx))
    sectors = set(np.unique(((angle + 180) // 30).astype(int)))
    # the sectors where the true ring crosses enough unmasked pixels (module gaps hide the others)
    phi = np.radians(np.arange(-180, 180, 0.5))
    on_ring = prep.valid[np.round(by + r1 * np.sin(phi)).astype(int), np.round(bx + r1 * np.cos(phi)).astype(int)]
    visible = {k for k in range(12) if on_ring[k * 60:(k + 1) * 60].mean() > 0.5}
    assert len(visible) >= 6 and visible <= sectors  # every visible 30° sector of the ring is found
    tth = case.truth.tth(case.detector, pts.rows, pts.cols)
    gap = prep.tth_rad[1] - prep.tth_rad[0]
    assert np.max(np.abs(tth - prep.tth_rad[0])) < gap / 40  # every point on ring 1, none on a neighbour
