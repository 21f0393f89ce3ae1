"""A wrong calibrant must never be called good, even when its rings are a subset of the image's
(Si for CeO2, lattices 0.4 % apart) or the same comb at another scale (NaCl for CeO2); the right
calibrant stays good on the same images. Images: binned detectors, CeO2 rendered in several ways."""

from __future__ import annotations

import numpy as np
import pytest

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate, prepare
from calterm.core.common.calibrants import load_calibrant
from calterm.core.common.geometry import PoniGeometry, max_tth_error_deg
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, render

CEO2_IMAGES = {
    # Pilatus1M binned 2x2 (module gaps), 200 mm, beam near the middle, 0.5 Å
    "pilatus": (SyntheticCase("Pilatus1M", "CeO2", PoniGeometry(0.20, 0.0912, 0.0835, 0.012, -0.008, 0.0, 0.5e-10),
                              binning=2, resolution_deg=0.1, seed=21), False),
    # Eiger4M binned 4x4, 150 mm, beam near a corner (arcs only), 0.73 Å, tilted
    "eiger_corner": (SyntheticCase("Eiger4M", "CeO2", PoniGeometry(0.15, 0.010, 0.008, 0.02, 0.03, 0.0, 0.73e-10),
                                   binning=4, resolution_deg=0.12, seed=22), False),
    # Pilatus1M binned 2x2, spotty rings (a coarse powder), 250 mm, 0.4 Å
    "pilatus_spotty": (SyntheticCase("Pilatus1M", "CeO2", PoniGeometry(0.25, 0.085, 0.090, -0.01, 0.01, 0.0, 0.4e-10),
                                     binning=2, resolution_deg=0.1, peak_intensity=4000.0, seed=23), True),
}


@pytest.fixture(scope="module")
def ceo2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ceo2")
    cache = {}

    def get(name):
        if name not in cache:
            case, spotty = CEO2_IMAGES[name]
            if spotty:
                from calterm.core.simulate.spotty import render_spotty

                image, det = render_spotty(case)
            else:
                image, det = render(case)
            path = folder / f"{name}.tif"
            write_image(path, image.astype(np.float32))
            cache[name] = (path, case, det)
        return cache[name]

    return get


def _calibrate(path, case, calibrant):
    return calibrate(CalibrationRequest(str(path), calibrant, case.geometry.wavelength, detector=case.detector))


@pytest.mark.parametrize("name", list(CEO2_IMAGES))
def test_a_ceo2_image_read_as_si_is_not_good_and_names_ceo2(ceo2, name):
    path, case, det = ceo2(name)
    result = _calibrate(path, case, "Si")
    assert result.verdict.status != "good", result.verdict.reasons
    assert any("fit CeO2 better than Si" in r for r in result.verdict.reasons), result.verdict.reasons


@pytest.mark.parametrize("name", list(CEO2_IMAGES))
def test_the_right_calibrant_stays_good_on_the_same_images(ceo2, name):
    path, case, det = ceo2(name)
    result = _calibrate(path, case, "CeO2")
    assert result.verdict.status == "good", result.verdict.reasons
    assert max_tth_error_deg(result.geometry, case.geometry, det, det.shape) < 5e-3
    assert result.identity is not None and not result.identity.doubtful
    assert result.summary()["identity"]["own"]["calibrant"] == "CeO2"


def test_a_ceo2_image_read_as_nacl_is_not_good(ceo2):
    """NaCl's rings are CeO2's comb 4 % larger: only the ring positions' non-linearity tells them apart."""
    path, case, det = ceo2("eiger_corner")
    result = _calibrate(path, case, "NaCl")
    assert result.verdict.status != "good", result.verdict.reasons


def test_the_ranking_puts_the_true_calibrant_first_at_its_distance(ceo2):
    """On the true geometry's profile, CeO2 explains every peak with none of its rings absent; Si
    (a subset) and dense calibrants (rings where the image has none) score lower."""
    from calterm.core.calibrate.explained import tth_profile
    from calterm.core.calibrate.identity import candidate_calibrants, peaks_from_tth_profile, rank

    path, case, det = ceo2("pilatus")
    prep = prepare(CalibrationRequest(str(path), "CeO2", case.geometry.wavelength, detector=case.detector))
    peaks = peaks_from_tth_profile(tth_profile(prep.image.data, prep.valid, case.geometry, det), case.geometry.dist)
    ranking = rank(peaks, candidate_calibrants(), case.geometry.wavelength)
    assert ranking[0].name == "CeO2"
    assert ranking[0].distance_m == pytest.approx(case.geometry.dist, rel=5e-3)
    si = next(s for s in ranking if s.name == "Si")
    assert si.score < ranking[0].score - 0.1


def test_registry_variants_are_one_material():
    from calterm.core.calibrate.identity import candidate_calibrants

    names = {c.name for c in candidate_calibrants()}
    assert "Si" in names and not any(n.startswith("Si_SRM") for n in names)
    assert "CeO2" in names and "LaB6" in names
    assert load_calibrant("Si").d_spacings_A[0] != load_calibrant("CeO2").d_spacings_A[0]
