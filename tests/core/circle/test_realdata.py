"""Single-ring fits on real detector images ($CALTERM_REALDATA, default ../shared/realdata): what physics guarantees, no guessed truth.

The images come without a reference geometry, so the tests check self-consistency: typed points
and the automatic search agree, and the three silver behenate orders of the ADSC image, each
fitted on its own, share a centre and have radii in the ratio Bragg's law predicts for a flat
detector, ``tan 2θ_n`` with ``sin θ_n = n λ / 2 d001``.

Tolerances, from the measured standard errors and the physics the circle model leaves out: a
detector tilted by a degree turns rings into slight ellipses whose centres drift outwards by
about ``r tan 2θ tan(tilt)`` — 1.5 px for the third order (r = 1014 px, 2θ = 4.7°) — and biases
circle radii at the 10⁻³ level. So centres of different orders must agree within 3 px, radius
ratios within 0.5 % (the wrong order, or the small-angle ratio n when it differs, would be 25 %
or more off at first order: the check discriminates).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from calterm.core.circle.fit import CircleOptions, fit_circle, fit_ring
from calterm.core.circle.points import working_image
from calterm.core.io.images import load_image

# points as a person types them from a display: a few pixels off the ring
MAR_POINTS = [(600, 503), (787, 690), (600, 877), (413, 690), (470, 560), (730, 820), (740, 560),
              (700, 500)]  # the last one is 28 px off the ring, beyond the 10 px window
FLICAM_POINTS = [(81, 878), (130, 765), (199, 678), (292, 600), (409, 558), (522, 542), (642, 555),
                 (747, 605), (845, 675), (919, 769), (965, 876)]
QUANTUM_ORDERS = {
    1: [(309, 984), (358, 889), (432, 817), (530, 771), (632, 764), (739, 779), (830, 835), (904, 911),
        (946, 1004)],
    2: [(238, 543), (339, 486), (451, 444), (565, 429), (680, 429), (799, 444), (909, 484), (1009, 545)],
    3: [(276, 147), (380, 116), (480, 98), (587, 89), (692, 88), (800, 102), (901, 125), (998, 163)],
}
QUANTUM_WAVELENGTH_A = 1.6083  # from the .img header
AGBH_D001_A = 58.380


def _image(path) -> np.ndarray:
    img = load_image(path)
    return working_image(img.data, img.invalid)


@pytest.fixture(scope="module")
def mar(realdata_path):  # $CALTERM_REALDATA or ../shared/realdata (tests/conftest.py)
    return _image(realdata_path("agbe_60sec_006.mar1200"))


@pytest.fixture(scope="module")
def flicam(realdata_path):
    return _image(realdata_path("FLICAM_AgBeh_001_c.tif"))


@pytest.fixture(scope="module")
def quantum(realdata_path):
    return _image(realdata_path("AgBe_Quantum.img"))


def test_mar_strong_ring_points_and_automatic_agree(mar):
    typed = fit_circle(MAR_POINTS, mar)
    auto = fit_ring(mar)
    assert typed.rejected == (7,)
    assert typed.refined[:7].all() and not typed.refined[7]
    assert np.abs(typed.residuals[:7]).max() < 0.3
    # one strong ring: sub-pixel peaks all around it pin the centre to a hundredth of a pixel
    assert max(*auto.center_se, auto.radius_se) < 0.02
    assert auto.ring_rms < 0.1 and auto.ring_arc_deg > 300
    assert np.abs(np.subtract(typed.circle, auto.circle)).max() < 0.05


def test_mar_points_only_fit_agrees_with_the_image_refinement(mar):
    typed = fit_circle(MAR_POINTS, mar, CircleOptions(use_image=False))
    auto = fit_ring(mar)
    se = max(*typed.center_se, typed.radius_se)
    assert se < 0.1
    assert np.abs(np.subtract(typed.circle, auto.circle)).max() < 4 * se + 0.02


def test_flicam_weak_arc(flicam):
    typed = fit_circle(FLICAM_POINTS, flicam)
    auto = fit_ring(flicam)
    # the beam stop sits at the bottom edge: so must the centre of the arc
    assert flicam.shape[0] - 60 < auto.center[1] < flicam.shape[0] + 60
    # a weak, noisy arc: refined clicks scatter by ~3 px (one may fall past the MAD cut), ring peaks by
    # ~2.5 px; the centre is known to a pixel or so
    assert typed.method == "points+image" and len(typed.rejected) <= 1
    assert max(auto.center_se) < 1.5
    assert np.abs(np.subtract(typed.circle, auto.circle)).max() < 3.0
    other = fit_ring(flicam, CircleOptions(seed=2))
    assert np.abs(np.subtract(other.circle, auto.circle)).max() < 3.0


@pytest.fixture(scope="module")
def quantum_orders(quantum):
    return {n: fit_circle(pts, quantum) for n, pts in QUANTUM_ORDERS.items()}


def test_quantum_orders_share_a_centre_below_the_bottom_edge(quantum, quantum_orders):
    centres = np.array([quantum_orders[n].center for n in (1, 2, 3)])
    assert (centres[:, 1] > quantum.shape[0] - 100).all()  # near or below the bottom edge
    spread = centres.max(axis=0) - centres.min(axis=0)
    assert spread.max() < 3.0, f"order centres differ by {spread} px"
    for fit in quantum_orders.values():
        assert fit.method == "points+image" and fit.rejected == ()


def test_quantum_radii_follow_bragg_orders(quantum_orders):
    tan2th = {n: math.tan(2 * math.asin(n * QUANTUM_WAVELENGTH_A / (2 * AGBH_D001_A))) for n in (1, 2, 3)}
    r = {n: quantum_orders[n].radius for n in (1, 2, 3)}
    for n in (2, 3):
        measured, predicted = r[n] / r[1], tan2th[n] / tan2th[1]
        assert abs(measured / predicted - 1) < 0.005, f"order {n}: r ratio {measured:.5f}, Bragg {predicted:.5f}"


def test_quantum_automatic_finds_one_of_the_orders(quantum, quantum_orders):
    auto = fit_ring(quantum)
    nearest = min(abs(auto.radius - f.radius) for f in quantum_orders.values())
    assert nearest < 1.0
