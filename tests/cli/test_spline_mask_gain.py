"""`calterm mask --spline FILE` and `calterm gain --spline FILE`: a Fit2D spline file (written by
pyFAI's own ``Spline``, a known barrel + stretch displacement) is the detector's distortion for the
2θ/q/d ranges and for every gain position's 2θ map; it wins over a spline the PONI names, and the
report says which file placed the pixels. Bad input: one line, exit 2. Ground truth is pyFAI's
own computation on a detector carrying the same spline file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.common.geometry import PoniGeometry

SHAPE = (480, 520)
GEOMETRY = PoniGeometry(0.085, 0.025, 0.026, 0.006, -0.004, 0.0, 0.5e-10)


def fit2d_spline(path, shape, amplitude_px: float = 1.5, pixel_um: float = 100.0, sign: float = 1.0):
    """A barrel + stretch field (as tests/cli/test_spline_cli.py builds it) written by pyFAI's Spline;
    ``sign`` -1 gives the opposite field, for a PONI that names another spline."""
    from pyFAI.spline import Spline

    ny, nx = shape
    y, x = np.mgrid[0 : ny + 1, 0 : nx + 1].astype(float)
    u, v = (x - nx / 2) / (nx / 2), (y - ny / 2) / (ny / 2)
    s = Spline()
    s.xDispArray = sign * amplitude_px * (u * (u * u + v * v) / 2 + 0.5 * u)
    s.yDispArray = sign * amplitude_px * (v * (u * u + v * v) / 2 - 0.5 * v)
    s.splineOrder, s.grid, s.pixelSize = 3, 1000.0, (pixel_um, pixel_um)
    s.array2spline(smoothing=1.0)
    s.write(str(path))
    return path


def write_poni(path, geometry: PoniGeometry, shape, pixel_um: float = 100.0, spline=None):
    """A PONI through pyFAI's writer, on a plain detector (or one carrying ``spline``)."""
    import pyFAI.detectors

    det = pyFAI.detectors.Detector(pixel_um * 1e-6, pixel_um * 1e-6, max_shape=shape)
    if spline is not None:
        det.splinefile = str(spline)
    geometry.to_pyfai(det).write(str(path))
    return path


def pyfai_tth_deg(poni, spline=None) -> np.ndarray:
    """pyFAI's 2θ map (deg) from the PONI, on its detector with ``spline`` set by pyFAI itself."""
    import pyFAI

    ai = pyFAI.load(str(poni))
    if spline is not None:
        ai.detector.splinefile = str(spline)
    return np.degrees(ai.twoThetaArray(ai.detector.shape))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spline_mask")
    spline = fit2d_spline(folder / "frelon.spline", SHAPE)
    other = fit2d_spline(folder / "other.spline", SHAPE, sign=-1.0)
    flat = write_poni(folder / "flat.poni", GEOMETRY, SHAPE)
    named = write_poni(folder / "named.poni", GEOMETRY, SHAPE, spline=other)
    return folder, spline, other, flat, named


def _mask(capsys, poni, out, *extra):
    code = main(["mask", "--poni", str(poni), "--tth-range", "5,12", "-o", str(out), "--max-share", "none",
                 "--json", *extra])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    return np.load(out) != 0, json.loads(stdout)


def test_mask_tth_range_uses_the_spline(files, tmp_path, capsys):
    _, spline, _, flat, _ = files
    masked, report = _mask(capsys, flat, tmp_path / "s.npy", "--spline", str(spline))
    tth = pyfai_tth_deg(flat, spline)
    assert np.array_equal(masked, (tth < 5) | (tth > 12))
    plain, plain_report = _mask(capsys, flat, tmp_path / "p.npy")
    flat_tth = pyfai_tth_deg(flat)
    assert np.array_equal(plain, (flat_tth < 5) | (flat_tth > 12))
    changed = int((masked != plain).sum())
    assert changed > 100, changed  # the spline moved the range's edges (1.5 px field)
    assert report["masked"] != plain_report["masked"]
    assert report["spline"] == {"file": str(spline.resolve()), "source": "typed", "replaces": None}
    assert "spline" not in plain_report


def test_typed_spline_wins_over_the_ponis(files, tmp_path, capsys):
    """The PONI names the opposite field; --spline's is the one pyFAI's pixels follow, and it says so."""
    _, spline, other, flat, named = files
    masked, report = _mask(capsys, named, tmp_path / "s.npy", "--spline", str(spline))
    tth = pyfai_tth_deg(flat, spline)
    assert np.array_equal(masked, (tth < 5) | (tth > 12))
    own = pyfai_tth_deg(named)  # the PONI's own spline, as pyFAI reads it
    assert int((masked != ((own < 5) | (own > 12))).sum()) > 100
    assert report["spline"] == {"file": str(spline.resolve()), "source": "typed", "replaces": str(other.resolve())}
    poni_only, poni_report = _mask(capsys, named, tmp_path / "n.npy")
    assert np.array_equal(poni_only, (own < 5) | (own > 12))
    assert poni_report["spline"]["source"] == "poni"
    main(["mask", "--poni", str(named), "--spline", str(spline), "--tth-range", "5,12", "-o",
          str(tmp_path / "t.npy"), "--max-share", "none"])
    assert "replaces the PONI's" in capsys.readouterr()[0]


@pytest.mark.parametrize("extra, message", [
    (["--spline", "/nonexistent/x.spline"], "--spline: /nonexistent/x.spline: no such file"),
    (["--spline", "GARBAGE"], "not a Fit2D spline file"),
    (["--spline", "SMALL"], "the spline covers 100x120 pixels, the image is 480x520"),
])
def test_mask_bad_spline_is_one_line_exit_2(files, tmp_path, capsys, extra, message):
    folder, _, _, flat, _ = files
    garbage = folder / "garbage.spline"
    garbage.write_text("not a spline\n")
    small = fit2d_spline(tmp_path / "small.spline", (100, 120))
    argv = [{"GARBAGE": str(garbage), "SMALL": str(small)}.get(e, e) for e in extra]
    code = main(["mask", "--poni", str(flat), "--tth-range", "5,12", "-o", str(tmp_path / "m.npy"), *argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "m.npy").exists()


def test_mask_spline_without_poni_is_refused(files, tmp_path, capsys):
    folder, spline, _, _, _ = files
    stats = tmp_path / "avg.npy"
    np.save(stats, np.full(SHAPE, 100.0))
    code = main(["mask", "--average", str(stats), "--spline", str(spline), "-o", str(tmp_path / "m.npy")])
    err = capsys.readouterr()[1]
    assert code == 2 and len(err.strip().splitlines()) == 1 and "give --poni too" in err


# --- gain ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    from calterm.core.simulate.amorphous import GainCase, write_case

    root = tmp_path_factory.mktemp("spline_gain")
    pairs, truth = write_case(GainCase(binning=4, seed=3), root)
    import pyFAI

    det = pyFAI.load(pairs[0][1]).detector
    spline = fit2d_spline(root / "gain.spline", tuple(det.shape), amplitude_px=3.0, pixel_um=det.pixel1 * 1e6)
    return root, pairs, truth, spline


def _gain(capsys, pairs, name, *extra):
    argv = ["gain", *[a for f, c in pairs for a in ("--position", f, "--calibration", c)], "-o", str(name),
            "--date", "2026-05-04", "--json", *extra]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_gain_positions_use_the_spline(experiment, tmp_path, capsys):
    """Every position's 2θ map is pyFAI's on the spline detector: the largest 2θ each position
    measured follows the spline, and the report names the file."""
    from calterm.core.gain.files import PositionSpec, load_positions

    _, pairs, truth, spline = experiment
    with_spline = _gain(capsys, pairs, tmp_path / "s", "--spline", str(spline))
    plain = _gain(capsys, pairs, tmp_path / "p")
    ok = ~truth.gaps
    for k, (_, poni) in enumerate(pairs):
        tth = pyfai_tth_deg(poni, spline)
        flat = pyfai_tth_deg(poni)
        got, flat_got = with_spline["positions"][k]["tth_max_deg"], plain["positions"][k]["tth_max_deg"]
        assert abs(flat_got - flat[ok].max()) < 0.05  # the edge pixels measured (gaps aside)
        assert abs(got - tth[ok].max()) < 0.05
        assert abs(got - flat_got) > 0.1  # a 3 px field at the corners, 688 µm pixels at 0.25 m
        notes = with_spline["inputs"][k]["notes"]
        assert f"spline {spline.resolve()} (--spline)" in notes
    specs = [PositionSpec(f, c, str(spline)) for f, c in pairs]
    positions, detector = load_positions(specs)
    for pos, (_, poni) in zip(positions, pairs, strict=True):
        mine = np.degrees(pos.geometry.to_pyfai(detector).twoThetaArray(truth.gain.shape))
        np.testing.assert_allclose(mine, pyfai_tth_deg(poni, spline), atol=1e-4)


def test_gain_bad_spline_is_one_line_exit_2(experiment, tmp_path, capsys):
    _, pairs, _, _ = experiment
    small = fit2d_spline(tmp_path / "small.spline", (100, 120))
    base = ["gain", *[a for f, c in pairs for a in ("--position", f, "--calibration", c)], "-o", str(tmp_path / "g")]
    for spline, message in ((tmp_path / "none.spline", "--spline: "), (small, "the spline covers 100x120 pixels")):
        code = main([*base, "--spline", str(spline)])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_gain_typed_spline_wins_over_the_ponis(experiment, tmp_path, capsys):
    """PONIs naming the opposite field: the positions' 2θ maps follow --spline, the notes say so."""
    import pyFAI

    from calterm.core.gain.files import PositionSpec, load_positions

    _, pairs, truth, spline = experiment
    ai = pyFAI.load(pairs[0][1])
    other = fit2d_spline(tmp_path / "other.spline", tuple(ai.detector.shape), amplitude_px=3.0,
                         pixel_um=ai.detector.pixel1 * 1e6, sign=-1.0)
    named = []
    for k, (frames, poni) in enumerate(pairs):
        geometry = PoniGeometry.from_pyfai(pyFAI.load(poni))
        named.append((frames, str(write_poni(tmp_path / f"p{k}.poni", geometry, ai.detector.shape,
                                             ai.detector.pixel1 * 1e6, spline=other))))
    positions, detector = load_positions([PositionSpec(f, c, str(spline)) for f, c in named])
    for pos, (_, poni) in zip(positions, pairs, strict=True):
        mine = np.degrees(pos.geometry.to_pyfai(detector).twoThetaArray(truth.gain.shape))
        np.testing.assert_allclose(mine, pyfai_tth_deg(poni, spline), atol=1e-4)
        assert f"spline {spline.resolve()} (--spline); replaces the PONI's {other.resolve()}" in pos.notes
        own = np.degrees(pyFAI.load(pos.calibration).twoThetaArray(truth.gain.shape))
        assert np.max(np.abs(mine - own)) > 0.1  # the PONI's own field is another
    positions, _ = load_positions([PositionSpec(f, c) for f, c in named])
    assert f"spline {other.resolve()} (the PONI's)" in positions[0].notes
