"""`calterm calibrate --spline FILE`: a Fit2D spline file (written by pyFAI's own ``Spline`` writer,
Fit2D's layout) is the detector's distortion in the fit, the pattern and the cake, and the PONI
names it in its detector config so pyFAI reads the PONI back with it. Bad input: one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.common.geometry import PoniGeometry
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, make_detector, render

SHAPE = (480, 520)
TRUTH = PoniGeometry(0.085, 0.025, 0.026, 0.006, -0.004, 0.0, 0.5e-10)


def fit2d_spline(path, shape, amplitude_px: float = 1.5):
    """A barrel + stretch field written by pyFAI's Spline (full-resolution arrays, pyFAI's fit)."""
    from pyFAI.spline import Spline

    ny, nx = shape
    y, x = np.mgrid[0 : ny + 1, 0 : nx + 1].astype(float)
    u, v = (x - nx / 2) / (nx / 2), (y - ny / 2) / (ny / 2)
    s = Spline()
    s.xDispArray = amplitude_px * (u * (u * u + v * v) / 2 + 0.5 * u)
    s.yDispArray = amplitude_px * (v * (u * u + v * v) / 2 - 0.5 * v)
    s.splineOrder, s.grid, s.pixelSize = 3, 1000.0, (100.0, 100.0)
    s.array2spline(smoothing=1.0)
    s.write(str(path))
    return path


@pytest.fixture(scope="module")
def distorted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spline")
    spline = fit2d_spline(folder / "frelon.spline", SHAPE)
    case = SyntheticCase(None, "LaB6", TRUTH, shape=SHAPE, pixel_size_um=100.0, peak_intensity=4000.0, seed=2)
    det = make_detector(case)
    det.set_splineFile(str(spline))
    image, _ = render(case, detector=det)
    path = folder / "frelon.tif"
    write_image(path, image.astype(np.float32))
    return path, spline, case


def _args(path, *extra):
    return ["calibrate", str(path), "--calibrant", "LaB6", "--wavelength", "0.5", "--pixel-size", "100", "--json",
            *extra]


def test_spline_is_used_and_written_to_the_poni(distorted, tmp_path, capsys):
    import pyFAI

    path, spline, case = distorted
    out = tmp_path / "c.poni"
    code = main(_args(path, "--spline", str(spline), "--poni", str(out), "--pattern", str(tmp_path / "p.xy"),
                      "--cake", str(tmp_path / "k.tif")))
    stdout, err = capsys.readouterr()
    assert code == 0, err
    with_spline = json.loads(stdout)
    assert "distortion" not in with_spline  # the user's spline is the model: nothing fitted on top
    code = main(_args(path))
    flat = json.loads(capsys.readouterr()[0])
    assert with_spline["verdict"]["rms_rad"] < 0.5 * flat["verdict"]["rms_rad"]
    assert abs(with_spline["geometry"]["dist"] - TRUTH.dist) < 1e-4
    ai = pyFAI.load(str(out))
    assert ai.detector.splinefile == str(spline.resolve())
    assert abs(ai.dist - TRUTH.dist) < 1e-4
    # pyFAI from the PONI alone puts the pixels where the spline says
    rows, cols = np.array([10.0, 240.0, 470.0]), np.array([15.0, 260.0, 500.0])
    truth_ai = TRUTH.to_pyfai(ai.detector)
    assert np.max(np.abs(ai.tth(rows, cols) - truth_ai.tth(rows, cols))) < 2e-4
    # the 1D pattern (integrated on the spline detector) peaks on LaB6's first ring
    lines = (tmp_path / "p.xy").read_text().splitlines()
    rings = [float(t) for t in lines[1].split(":")[1].split()]
    tth, intensity = np.loadtxt(lines[3:]).T
    near = np.abs(tth - rings[0]) < 0.3
    assert abs(tth[near][np.argmax(intensity[near])] - rings[0]) < 0.03
    assert (tmp_path / "k.tif").exists()


@pytest.mark.parametrize("extra, message", [
    (["--spline", "/nonexistent/x.spline"], "no such file"),
    (["--sensor", "Si"], "MATERIAL,THICKNESS_UM"),
    (["--sensor", "Unobtainium,300"], "unknown sensor material"),
    (["--sensor", "Si,-4"], "--sensor thickness"),
    (["--spline", "SPLINE", "--fit-distortion"], "give one"),
])
def test_bad_spline_or_sensor_is_one_line_exit_2(distorted, capsys, extra, message):
    path, spline, _ = distorted
    code = main(_args(path, *[str(spline) if e == "SPLINE" else e for e in extra]))
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_a_spline_of_another_shape_is_refused(distorted, tmp_path, capsys):
    path, _, _ = distorted
    other = fit2d_spline(tmp_path / "other.spline", (100, 120))
    code = main(_args(path, "--spline", str(other)))
    err = capsys.readouterr()[1]
    assert code == 2 and "the spline covers 100x120 pixels" in err


def test_mask_ranges_from_a_spline_poni_follow_the_distortion(distorted, tmp_path, capsys):
    """`calterm mask --poni` with a PONI naming a spline: the 2θ range is pyFAI's on the spline detector."""
    import pyFAI

    path, spline, _ = distorted
    poni = tmp_path / "s.poni"
    assert main(_args(path, "--spline", str(spline), "--poni", str(poni))) == 0
    capsys.readouterr()
    out = tmp_path / "m.npy"
    code = main(["mask", "--poni", str(poni), "--tth-range", "5,12", "-o", str(out), "--max-share", "none"])
    assert code == 0, capsys.readouterr()[1]
    masked = np.load(out) != 0
    tth = np.degrees(pyFAI.load(str(poni)).twoThetaArray(SHAPE))
    assert np.array_equal(masked, (tth < 5) | (tth > 12))
    flat = pyFAI.load(str(poni))
    flat.detector = pyFAI.detectors.Detector(1e-4, 1e-4, max_shape=SHAPE)
    flat_tth = np.degrees(flat.twoThetaArray(SHAPE))
    assert not np.array_equal(masked, (flat_tth < 5) | (flat_tth > 12))  # the spline moved the edges
