"""Panel alignment recovers known sub-pixel displacements of quadrants, synthetic and real."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.panel_layouts import Panel, quadrants
from calterm.core.health.alignment import align_panels, corrected_image, rotation_angles
from calterm.core.simulate.powder import SyntheticCase, render
from calterm.errors import ComputationError

N = 256
PIXEL = 100e-6
CENTER = (N / 2 - 0.5 + 3.2, N / 2 - 0.5 - 4.7)
SHIFTS = {"top-left": (6.3, 1.2), "top-right": (-13.6, -2.8), "bottom-right": (2.45, -7.7), "bottom-left": (0.0, 0.0)}


def displaced_powder(shifts, n=N, center=CENTER):
    """CeO2 rings rendered by pyFAI; each quadrant rendered with its beam centre moved by its shift."""
    geo = PoniGeometry(dist=0.0384, poni1=(center[1] + 0.5) * PIXEL, poni2=(center[0] + 0.5) * PIXEL,
                       wavelength=0.5e-10)
    case = SyntheticCase(None, "CeO2", geo, shape=(n, n), pixel_size_um=100, peak_intensity=1000,
                         background=20, resolution_deg=0.2, seed=1)
    image = np.zeros((n, n))
    for q in quadrants((n, n)):
        dx, dy = shifts[q.name]
        moved = replace(geo, poni1=geo.poni1 + dy * PIXEL, poni2=geo.poni2 + dx * PIXEL)
        image[q.slices] = render(replace(case, geometry=moved))[0][q.slices]
    return image


@pytest.fixture(scope="module")
def synthetic():
    return displaced_powder(SHIFTS)


def test_quadrant_shifts_recovered_to_a_quarter_pixel(synthetic):
    result = align_panels(synthetic, quadrants(synthetic.shape), CENTER, search_px=16)
    assert [p.name for p in result.panels] == ["top-left", "top-right", "bottom-right", "bottom-left"]
    for p in result.panels:
        assert np.abs(np.subtract(p.shift, SHIFTS[p.name])).max() < 0.25, (p.name, p.shift)
    assert result.cc_after > result.cc_before + 0.2
    moved = {p.name: p for p in result.panels}
    assert moved["top-right"].cc > moved["top-right"].cc_before + 0.3


def test_masked_pixels_take_no_part(synthetic):
    image = synthetic.copy()
    valid = np.ones(image.shape, bool)
    rng = np.random.default_rng(2)
    hot = rng.choice(image.size, 400, replace=False)
    image.flat[hot] = 1e6
    valid.flat[hot] = False
    image[:, 20:26] = 0.0  # a dead column band
    valid[:, 20:26] = False
    result = align_panels(image, quadrants(image.shape), CENTER, valid=valid, search_px=16)
    for p in result.panels:
        assert np.abs(np.subtract(p.shift, SHIFTS[p.name])).max() < 0.25, (p.name, p.shift)


def test_corrected_image_is_symmetric_again(synthetic):
    panels = quadrants(synthetic.shape)
    result = align_panels(synthetic, panels, CENTER, search_px=16)
    fixed = corrected_image(synthetic, panels, result)
    again = align_panels(fixed, panels, CENTER, valid=fixed >= 0, search_px=4)
    for p in again.panels:
        assert np.abs(p.shift).max() < 0.25, (p.name, p.shift)


def test_angles_follow_the_panel_span():
    quadrant = Panel("q", 0, 0, 100, 100)
    assert rotation_angles(quadrant, (99.5, 99.5)) == pytest.approx((13.5, -13.5, 27, -27, 40.5, -40.5))
    far = Panel("far", 400, 0, 420, 20)  # a small module far from the centre spans about 3 degrees
    assert max(rotation_angles(far, (0.0, 10.0))) < 2.0


def test_a_panel_without_pixels_is_refused(synthetic):
    valid = np.zeros(synthetic.shape, bool)
    with pytest.raises(ComputationError, match="unmasked"):
        align_panels(synthetic, quadrants(synthetic.shape), CENTER, valid=valid)


def test_real_ceo2_quadrants_displaced_by_known_amounts(realdata_path):
    """Real rings are not perfect circles (tilt), so each quadrant's best shift is measured first on
    the undisplaced image over the same content; the displacement must add exactly on top of it.
    Binned 2x2 and 30k sample points per quadrant (default 80k) to keep the test short."""
    from scipy import ndimage

    from calterm.core.io.images import load_image

    raw = load_image(realdata_path("CeO2_PI_CCD_Mo.SPE")).data
    image = raw.reshape(521, 2, 521, 2).sum(axis=(1, 3))  # 2x2 binned: same rings, a quarter of the work
    h, w = image.shape
    center = (w / 2 - 0.5 + 1.8, h / 2 - 0.5)  # the whole image's best centre, to ~0.1 px (2x2 binned)
    shifts = {"top-left": (6.3, 1.2), "top-right": (-13.6, -2.8), "bottom-right": (-7.0, 11.4),
              "bottom-left": (-4.25, 10.8)}
    displaced = np.zeros_like(image)
    for q in quadrants(image.shape):
        dy_dx = (shifts[q.name][1], shifts[q.name][0])
        displaced[q.slices] = ndimage.shift(image, dy_dx, order=3, mode="constant", cval=np.nan)[q.slices]
    valid = np.isfinite(displaced)
    result = align_panels(np.nan_to_num(displaced), quadrants(image.shape), center, valid=valid, search_px=18,
                          max_points=30_000)
    for p in result.panels:
        dx, dy = shifts[p.name]
        q = next(q for q in quadrants(image.shape) if q.name == p.name)
        source = Panel(q.name, max(0, q.x0 - round(dx)), max(0, q.y0 - round(dy)),
                       min(w, q.x1 - round(dx)), min(h, q.y1 - round(dy)))
        base = align_panels(image, [source], center, search_px=8, max_points=30_000).panels[0].shift
        error = np.subtract(np.subtract(p.shift, base), shifts[p.name])
        assert np.abs(error).max() < 0.25, (p.name, p.shift, base, error)
        assert p.cc > 0.9
