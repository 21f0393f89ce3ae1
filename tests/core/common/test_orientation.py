"""PONI 2.1 detector orientation (1-4): PONIs written by pyFAI itself, read and written by calterm,
and every pixel position calterm derives from them (beam centre, start geometry, gain positions)
in the image's frame.

Ground truth is pyFAI's own 2θ: the beam centre is where pyFAI says 2θ = 0 on the oriented
detector, independent of how calterm converts.
"""

from __future__ import annotations

import glob
import json

import numpy as np
import pytest
import tifffile

from calterm.core.common.geometry import geometry_from_center, load_poni, poni_text

SHAPE = (260, 245)
PIXEL = 100e-6
GEOMETRIES = [  # (dist, poni1, poni2, rot1, rot2, rot3): untilted, tilted, off-detector corner
    (0.10, 0.0184, 0.0062, 0.0, 0.0, 0.0),
    (0.25, 0.0121, 0.0173, 0.03, -0.02, 0.0),
    (0.07, 0.0031, 0.0209, -0.01, 0.015, 0.0),
]


def _pyfai_poni(tmp_path, orientation: int, param, detector=None) -> str:
    """A PONI file written by pyFAI's own writer (pyFAI.io.ponifile) on an oriented detector."""
    import pyFAI.detectors
    from pyFAI.geometry import Geometry
    from pyFAI.io.ponifile import PoniFile

    det = detector or pyFAI.detectors.Detector(pixel1=PIXEL, pixel2=PIXEL, max_shape=SHAPE, orientation=orientation)
    dist, p1, p2, r1, r2, r3 = param
    g = Geometry(dist=dist, poni1=p1, poni2=p2, rot1=r1, rot2=r2, rot3=r3, detector=det, wavelength=0.8e-10)
    path = tmp_path / f"o{orientation}_{dist}.poni"
    with open(path, "w") as fh:
        PoniFile(g).write(fh)
    return str(path)


@pytest.mark.parametrize("orientation", [1, 2, 3, 4])
@pytest.mark.parametrize("param", GEOMETRIES)
def test_beam_centre_is_where_pyfai_puts_the_beam(tmp_path, orientation, param):
    geometry, det = load_poni(_pyfai_poni(tmp_path, orientation, param))
    assert int(det.orientation) == orientation
    x, y = geometry.beam_center_px(det)
    ai = geometry.to_pyfai(det)
    assert float(ai.tth(np.array([y]), np.array([x]))[0]) < 1e-9  # 2θ = 0 at the centre, by pyFAI
    # and the orientation-3 twin of this file has its centre at the mirrored pixel
    g3, d3 = load_poni(_pyfai_poni(tmp_path, 3, param))
    x3, y3 = g3.beam_center_px(d3)
    flip_rows, flip_cols = orientation in (1, 2), orientation in (1, 4)
    assert x == pytest.approx(SHAPE[1] - 1 - x3 if flip_cols else x3, abs=1e-9)
    assert y == pytest.approx(SHAPE[0] - 1 - y3 if flip_rows else y3, abs=1e-9)


@pytest.mark.parametrize("orientation", [1, 2, 3, 4])
def test_start_geometry_from_an_image_pixel_and_poni_round_trip(tmp_path, orientation):
    import pyFAI
    import pyFAI.detectors

    det = pyFAI.detectors.Detector(pixel1=PIXEL, pixel2=PIXEL, max_shape=SHAPE, orientation=orientation)
    geometry = geometry_from_center(det, 0.2, (37.0, 201.0), 1e-10)
    ai = geometry.to_pyfai(det)
    assert float(ai.tth(np.array([201.0]), np.array([37.0]))[0]) < 1e-12
    assert geometry.beam_center_px(det) == pytest.approx((37.0, 201.0), abs=1e-9)
    path = tmp_path / "ours.poni"
    path.write_text(poni_text(geometry, det, calibrant="LaB6"))
    back = pyFAI.load(str(path))  # pyFAI reads our file with the orientation it had
    assert int(back.detector.orientation) == orientation
    assert "poni_version: 2.1" in path.read_text()
    ours, det2 = load_poni(str(path))
    assert ours.beam_center_px(det2) == pytest.approx((37.0, 201.0), abs=1e-9)


@pytest.mark.parametrize("orientation", [2, 1])
def test_gain_on_oriented_ponis_reports_image_centres_and_refuses_twins(tmp_path_factory, capsys, orientation):
    """The same experiment as images flipped like the orientation and PONIs written by pyFAI with that
    orientation: the same map (flipped), centres in the image's frame, twins refused (exit 2)."""
    import pyFAI.detectors

    from calterm.cli import main
    from calterm.core.simulate.amorphous import GainCase, write_case

    root = tmp_path_factory.mktemp("o3")
    pairs, truth = write_case(GainCase(binning=4, seed=3), root)
    rows, cols = truth.gain.shape
    flip_rows, flip_cols = orientation in (1, 2), orientation in (1, 4)

    def flip(a):
        return a[::-1 if flip_rows else 1, ::-1 if flip_cols else 1]

    det = pyFAI.detectors.Detector(pixel1=truth.detector.pixel1, pixel2=truth.detector.pixel2,
                                   max_shape=(rows, cols), orientation=orientation)
    oriented_root = tmp_path_factory.mktemp(f"o{orientation}")
    flipped = []
    for k, (frames, poni) in enumerate(pairs):
        folder = oriented_root / f"pos{k}"
        folder.mkdir()
        for j, path in enumerate(sorted(glob.glob(frames))):
            tifffile.imwrite(folder / f"frame_{j}.tif", np.ascontiguousarray(flip(tifffile.imread(path))))
        g, _ = load_poni(poni)
        param = (g.dist, g.poni1, g.poni2, g.rot1, g.rot2, g.rot3)
        flipped.append((str(folder / "frame_*.tif"), _pyfai_poni(folder, orientation, param, det)))

    def run(position_pairs, name):
        argv = ["gain"]
        for frames, calibration in position_pairs:
            argv += ["--position", frames, "--calibration", calibration]
        code = main([*argv, "-o", str(tmp_path_factory.mktemp("out") / name), "--date", "2026-05-04", "--json"])
        out, err = capsys.readouterr()
        return code, out, err

    code3, out3, err3 = run(pairs, "o3")
    code, out, err = run(flipped, "oriented")
    assert code3 == 0 and code == 0, err3 + err
    doc3, doc = json.loads(out3), json.loads(out)
    for p3, p in zip(doc3["positions"], doc["positions"], strict=True):
        x3, y3 = p3["beam_center_px"]
        assert p["beam_center_px"] == pytest.approx([cols - 1 - x3 if flip_cols else x3,
                                                     rows - 1 - y3 if flip_rows else y3], abs=1e-6)
    # the same map, flipped: not bit for bit (the solver's sums run over the pixels in another order
    # and stop at a tolerance), so: the same pixels measured, the two maps far closer to each other
    # than to the truth, and equally close to the truth
    ours, reference = tifffile.imread(doc["outputs"]["gain"]), flip(tifffile.imread(doc3["outputs"]["gain"]))
    ok = np.isfinite(reference)
    assert np.array_equal(np.isfinite(ours), ok)
    truth_gain = flip(truth.smooth)

    def rms(a, b):
        ratio = a[ok] / b[ok]
        return float(np.sqrt(np.mean((ratio / np.median(ratio) - 1) ** 2)))

    assert rms(ours, reference) < 0.1 * rms(reference, truth_gain)
    assert rms(ours, truth_gain) == pytest.approx(rms(reference, truth_gain), rel=0.05)
    # a twin of position 2: its frames plus one count (not the same data) and its geometry moved by
    # 1.5 px along both axes (not the same centre): its beam falls in position 2's beam-stop disc.
    # Position 1 (the detector's middle, its own mirror image) is left out: on the session-start code
    # the mirrored geometries made shadows where the data are not, and one covered it by chance.
    twin_folder = oriented_root / "twin"
    twin_folder.mkdir()
    for j, path in enumerate(sorted(glob.glob(flipped[1][0]))):
        tifffile.imwrite(twin_folder / f"frame_{j}.tif", tifffile.imread(path) + 1)
    g, _ = load_poni(flipped[1][1])
    moved = (g.dist, g.poni1 - 1.5 * det.pixel1, g.poni2 + 1.5 * det.pixel2, g.rot1, g.rot2, g.rot3)
    twin = (str(twin_folder / "frame_*.tif"), _pyfai_poni(twin_folder, orientation, moved, det))
    code, _, err = run([flipped[1], twin, flipped[2], flipped[3]], "twin")
    assert code == 2 and "beam stops overlap" in err


@pytest.mark.parametrize("orientation", [1, 2, 4])
def test_mask_ranges_from_an_oriented_poni_are_in_the_image_frame(tmp_path, orientation):
    """The 2θ-range mask of `calterm mask --poni` on a pyFAI-written oriented PONI is the
    orientation-3 mask flipped like the image, and pyFAI's own 2θ array agrees pixel for pixel."""
    from calterm.core.health.mask import MaskRules, MaskSources, build_mask_from_files

    param = GEOMETRIES[1]
    rules = MaskRules(tth_range_deg=(3.0, 9.0))
    ours = build_mask_from_files(MaskSources(poni=_pyfai_poni(tmp_path, orientation, param)), rules).mask
    reference = build_mask_from_files(MaskSources(poni=_pyfai_poni(tmp_path, 3, param)), rules).mask
    flip_rows, flip_cols = orientation in (1, 2), orientation in (1, 4)
    np.testing.assert_array_equal(ours, reference[::-1 if flip_rows else 1, ::-1 if flip_cols else 1])
    geometry, det = load_poni(_pyfai_poni(tmp_path, orientation, param))
    tth = np.degrees(geometry.to_pyfai(det).center_array(SHAPE, unit="2th_rad"))
    np.testing.assert_array_equal(ours, (tth < 3.0) | (tth > 9.0))
    assert 0.1 < ours.mean() < 0.9


@pytest.mark.parametrize("orientation", [2, 4])
def test_panel_alignment_takes_the_centre_of_an_oriented_poni_in_the_image_frame(tmp_path, orientation):
    """`calterm align IMAGE --poni P`: the centre comes from the PONI; on an image whose rings are
    about pyFAI's centre of that oriented PONI, the panels are found in place."""
    import pyFAI.detectors

    from calterm.core.health.alignment import AlignSources, align_from_files

    shape = (120, 110)
    det = pyFAI.detectors.Detector(pixel1=PIXEL, pixel2=PIXEL, max_shape=shape, orientation=orientation)
    param = (0.05, 0.0049, 0.0062, 0.0, 0.0, 0.0)  # the beam off the middle: its mirror is far away
    poni = _pyfai_poni(tmp_path, orientation, param, det)
    geometry, det = load_poni(poni)
    tth = geometry.to_pyfai(det).center_array(shape, unit="2th_deg")
    image = 100 + 1000 * np.exp(-0.5 * ((np.mod(tth, 1.5) - 0.75) / 0.08) ** 2)  # rings every 1.5°
    path = tmp_path / "rings.tif"
    tifffile.imwrite(path, image.astype(np.float32))
    run = align_from_files(AlignSources(image=str(path), poni=poni, panels="quadrants", search_px=4.0))
    x, y = run.center
    assert float(geometry.to_pyfai(det).tth(np.array([y]), np.array([x]))[0]) < 1e-9
    for panel in run.result.panels:
        assert np.hypot(*panel.shift) < 0.5, panel


def test_gain_positions_with_different_orientations_are_refused(tmp_path):
    """Every position is evaluated on position 1's detector: a PONI of another orientation is refused."""
    from calterm.core.gain.files import PositionSpec, load_positions
    from calterm.errors import InputError

    specs = []
    for k, orientation in enumerate((3, 3, 2)):
        folder = tmp_path / f"p{k}"
        folder.mkdir()
        tifffile.imwrite(folder / "f.tif", np.full(SHAPE, 100 + k, np.int32))
        specs.append(PositionSpec(str(folder / "*.tif"), _pyfai_poni(folder, orientation, GEOMETRIES[k])))
    positions, det = load_positions(specs[:2])
    assert len(positions) == 2 and int(det.orientation) == 3
    with pytest.raises(InputError, match="position 3: .* orientation 2"):
        load_positions(specs)
