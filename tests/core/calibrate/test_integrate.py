"""The check pattern and cake: pyFAI's integration of the calibrated image, with the ring positions.

The engine is pyFAI's histogram one with bounding-box splitting (integrate.METHOD), chosen over its
CSR engine because the CSR set-up held the GIL for up to 0.16 s; these tests hold it to the same
numbers as pyFAI's CSR engine and to the true ring positions.
"""

from __future__ import annotations

import numpy as np

from calterm.core.calibrate.integrate import METHOD, cake, pattern
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate
from calterm.core.calibrate.result_detector import with_result_detector


def _calibrated(rendered):
    case = rendered("pilatus")  # Pilatus1M binned 2x2, LaB6, λ 0.4 Å, 200 mm
    bx, by = case.beam_xy
    request = CalibrationRequest(str(case.path), case.case.calibrant, case.truth.wavelength,
                                 detector=case.detector_name, distance_mm=case.truth.dist * 1e3 * 1.03,
                                 center_xy=(bx + 5, by - 5))
    return case, request, with_result_detector(calibrate(request), request)


def _csr(result, request, *args, two_d: bool):
    """The same integration by pyFAI's CSR engine (pyFAI's usual choice), for comparison."""
    from calterm.core.calibrate.integrate import _inputs

    prep, ai, mask = _inputs(result, request)
    ai.reset()
    method = ("bbox", "csr", "cython")
    if two_d:
        return ai.integrate2d(prep.image.data, *args, unit="2th_deg", mask=mask, method=method)
    return ai.integrate1d(prep.image.data, *args, unit="2th_deg", mask=mask, method=method)


def test_pattern_and_cake_match_pyfai_csr_and_peak_at_the_true_rings(rendered):
    import pyFAI.calibrant

    assert METHOD == ("bbox", "histogram", "cython")
    case, request, result = _calibrated(rendered)
    p = pattern(result, request, npt=1500)
    ref = _csr(result, request, 1500, two_d=False)
    np.testing.assert_allclose(p.tth_deg, ref.radial, rtol=1e-6)
    valid = np.isfinite(ref.intensity) & (ref.intensity > 0)
    np.testing.assert_allclose(p.intensity[valid], ref.intensity[valid], rtol=2e-5)

    # each of the first rings in range is a peak of the pattern within one bin of its true 2θ
    cal = pyFAI.calibrant.get_calibrant(case.case.calibrant)
    cal.wavelength = case.truth.wavelength
    true_tth = np.degrees(cal.get_2th())
    step = p.tth_deg[1] - p.tth_deg[0]
    inside = true_tth[(true_tth > p.tth_deg[0] + 0.2) & (true_tth < p.tth_deg[-1] - 0.2)][:5]
    assert inside.size >= 3
    np.testing.assert_allclose(np.sort(p.ring_tth_deg)[:inside.size], inside, atol=0.01)
    for tth in inside:
        near = np.abs(p.tth_deg - tth) < 0.15
        peak = p.tth_deg[near][np.nanargmax(p.intensity[near])]
        assert abs(peak - tth) <= 1.5 * step, (tth, peak)

    c = cake(result, request, npt_tth=300, npt_chi=90)
    ref2 = _csr(result, request, 300, 90, two_d=True)
    assert c.intensity.shape == (90, 300)
    both = (ref2.intensity > 0) & (c.intensity > 0)
    assert both.mean() > 0.5
    np.testing.assert_allclose(c.intensity[both], ref2.intensity[both], rtol=2e-5)
