"""`calterm calibrate` with the image header's facts: no --wavelength typed, the header's
wavelength is used; its distance and beam centre are start values, never answers: a header whose
centre and distance are far off still ends at the truth (or not good), never at a wrong good fit."""

from __future__ import annotations

import json

import fabio.edfimage
import numpy as np
import pytest

from calterm.cli import main


def _edf_with_header(rendered, tmp_path, centre_shift_px, distance_factor):
    """The rendered Pilatus1M (2x2 binned) LaB6 image as an EDF with ESRF SAXS header keys."""
    case = rendered("pilatus")
    truth = case.truth
    x, y = case.beam_xy
    pixel = case.detector.pixel1
    header = {"PSize_1": f"{case.detector.pixel2:.6e}", "PSize_2": f"{pixel:.6e}",
              "SampleDistance": f"{truth.dist * distance_factor:.6f}", "WaveLength": f"{truth.wavelength:.6e}",
              "Center_1": f"{x + centre_shift_px:.3f}", "Center_2": f"{y - centre_shift_px:.3f}"}
    path = tmp_path / f"lab6_{centre_shift_px}_{distance_factor}.edf"
    fabio.edfimage.EdfImage(data=case.image.astype(np.float32), header=header).write(str(path))
    return case, path


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else None), err


@pytest.mark.parametrize(("shift", "factor"), [(3.0, 1.03), (150.0, 1.6)])
def test_header_wavelength_and_starts(rendered, tmp_path, capsys, shift, factor):
    case, path = _edf_with_header(rendered, tmp_path, shift, factor)
    code, doc, err = _run(capsys, ["calibrate", str(path), "--calibrant", "LaB6", "--detector", "Pilatus1M",
                                   "--json"])
    assert code == 0, err
    assert doc["from_header"]["wavelength_A"]["value"] == pytest.approx(case.truth.wavelength * 1e10)
    assert doc["geometry"]["wavelength"] == pytest.approx(case.truth.wavelength, rel=1e-6)
    assert doc["verdict"]["status"] == "good"
    # at the truth whatever the header said (a far-off header start is dropped, and says so)
    assert doc["geometry"]["dist"] == pytest.approx(case.truth.dist, rel=2e-3)
    fit_centre = (doc["fit2d"]["centerX"], doc["fit2d"]["centerY"])
    assert np.hypot(*np.subtract(fit_centre, case.beam_xy)) < 1.0
    if "start_values_not_kept" not in doc["from_header"]:
        assert doc["from_header"]["distance_mm"]["value"] == pytest.approx(case.truth.dist * factor * 1e3)


def test_typed_values_beat_the_header(rendered, tmp_path, capsys):
    case, path = _edf_with_header(rendered, tmp_path, 3.0, 1.03)
    x, y = case.beam_xy
    code, doc, err = _run(capsys, ["calibrate", str(path), "--calibrant", "LaB6", "--detector", "Pilatus1M",
                                   "--wavelength", f"{case.truth.wavelength * 1e10:.8f}",
                                   "--distance", f"{case.truth.dist * 1e3:.3f}", "--center", f"{x:.2f},{y:.2f}",
                                   "--json"])
    assert code == 0, err
    assert doc["from_header"] == {}


def test_no_wavelength_anywhere_is_one_line(rendered, capsys):
    code, doc, err = _run(capsys, ["calibrate", str(rendered("pilatus").path), "--calibrant", "LaB6",
                                   "--detector", "Pilatus1M"])
    assert code == 2 and doc is None
    assert err.count("\n") == 1 and "--wavelength" in err and "header" in err


def test_adsc_header_centre_is_a_start_not_an_answer(realdata_path, capsys):
    """AgBe_Quantum.img: the ADSC header gives λ 1.6083 Å, 70.7 µm pixels, 800 mm and a beam centre
    known to be wrong (113.0 / 108.8 mm: column 1598, row 1539, off the 1152x1152 image). Nothing
    typed but the calibrant: the header's facts are used and named; whatever the verdict, the fit
    is not the header's centre taken on trust."""
    path = realdata_path("AgBe_Quantum.img")
    code, doc, err = _run(capsys, ["calibrate", str(path), "--calibrant", "AgBh", "--json"])
    assert code in (0, 1), err
    assert "Traceback" not in err
    if doc is None:  # no fit at all: one line saying why
        assert err.count("\n") == 1
        return
    header = doc["from_header"]
    assert header["wavelength_A"]["value"] == pytest.approx(1.6083)
    assert header["pixel_size_um"]["value"] == pytest.approx([70.7, 70.7])
    assert doc["detector_choice"]["reason"] == "pixel size from header"
    if doc["verdict"]["status"] == "good":
        fit_centre = (doc["fit2d"]["centerX"], doc["fit2d"]["centerY"])
        assert np.hypot(*np.subtract(fit_centre, (113.0 / 0.0707, 108.8 / 0.0707))) > 100.0
        # and a good geometry is a possible one: the detector in front of the sample, not edge-on
        assert doc["fit2d"]["directDist"] > 0 and doc["fit2d"]["tilt"] < 45.0, doc["fit2d"]


def test_same_shape_detectors_are_named_and_the_header_decides(tmp_path, capsys):
    """An Eiger2_250k image (75 µm): HF_262k (150 µm) has the same shape. As a TIFF (no header)
    the choice says both were candidates and why the first was taken (CLI text and JSON); as an
    Eiger master file whose description names the EIGER2 250K, Eiger2_250k is taken and the
    distance is the truth, not twice it."""
    import h5py

    from calterm.core.common.geometry import PoniGeometry
    from calterm.core.io.images import write_image
    from calterm.core.simulate.powder import SyntheticCase, render

    case = SyntheticCase("Eiger2_250k", "CeO2", PoniGeometry(0.06, 0.0192, 0.0195, 0.0, 0.0, 0.0, 0.5e-10),
                         resolution_deg=0.08, seed=7)
    image, _ = render(case)
    tif = tmp_path / "ceo2.tif"
    write_image(tif, image.astype(np.float32))
    args = ["calibrate", str(tif), "--calibrant", "CeO2", "--wavelength", "0.5"]
    code, doc, err = _run(capsys, [*args, "--json"])
    assert doc is not None, err
    choice = doc["detector_choice"]
    assert choice["name"] == "HF_262k" and set(choice["candidates"]) == {"HF_262k", "Eiger2_250k"}
    assert "candidates" in choice["reason"]
    main(args)
    text = capsys.readouterr().out
    assert "also this shape: Eiger2_250k" in text and "--detector NAME" in text
    master = tmp_path / "ceo2_master.h5"
    with h5py.File(master, "w") as h5:
        h5.create_dataset("entry/data/data", data=image[None].astype(np.float32))
        h5.create_dataset("entry/instrument/detector/description", data=b"Dectris EIGER2 Si 250K")
    code, doc, err = _run(capsys, ["calibrate", str(master), "--calibrant", "CeO2", "--wavelength", "0.5", "--json"])
    assert code == 0, err
    assert doc["detector_choice"]["name"] == "Eiger2_250k" and "header names it" in doc["detector_choice"]["reason"]
    assert doc["geometry"]["dist"] == pytest.approx(0.06, rel=2e-3)
