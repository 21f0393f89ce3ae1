"""The gain map's files: every name known before the run, each written as a logged version."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from calterm.core.gain.files import PositionSpec, gain_provenance, output_paths, write_outputs
from calterm.core.io.versions import read_log


def test_output_paths_are_known_before_the_run_and_written_as_versions(tmp_path):
    base = str(tmp_path / "det_2026-05-04")
    paths = output_paths(base)
    assert paths == {"gain": f"{base}.tif", "unfiltered": f"{base}_unfiltered.tif",
                     "damaged_mask": f"{base}_damaged_mask.tif", "uncertainty": f"{base}_uncertainty.tif",
                     "report": f"{base}_report.json"}
    images = {"gain": np.full((4, 5), 1.25, np.float32), "unfiltered": np.ones((4, 5), np.float32),
              "damaged_mask": np.eye(4, 5, dtype=np.uint8), "uncertainty": np.zeros((4, 5), np.float32)}
    inputs = gain_provenance([PositionSpec("p1/*.tif", "p1.poni")], "divide")
    assert inputs == {"positions": [{"frames": "p1/*.tif", "calibration": "p1.poni"}], "form": "divide"}
    for k in range(2):
        written = write_outputs(base, images, {"damaged_pixels": 4}, "test", inputs)
        assert {key: v["path"] for key, v in written.items()} == paths
        assert written["gain"]["version"].endswith(f"det_2026-05-04.v{k}.tif")
    gain = tifffile.imread(paths["gain"])
    assert gain.dtype == np.float32 and (gain == 1.25).all()
    assert tifffile.imread(paths["damaged_mask"]).dtype == np.uint8
    report = json.loads((tmp_path / "det_2026-05-04_report.json").read_text())
    assert report["damaged_pixels"] == 4 and report["outputs"] == paths
    assert [r["inputs"] for r in read_log(paths["report"])] == [inputs, inputs]


# A version-1 PONI as Dioptas and pyFAI before 0.17 write it: a pixel size, no detector shape.
V1_PONI = """# Nota: C-Order, 1 refers to the Y axis, 2 to the X axis
# Calibration done at Mon Jan 18 11:06:57 2021
{detector}PixelSize1: {p1}
PixelSize2: {p2}
Distance: 0.2
Poni1: 0.0131
Poni2: 0.0117
Rot1: 0.012
Rot2: -0.008
Rot3: 0.0
Wavelength: 3.344e-11
"""


def _v1(tmp_path, p1=1e-4, p2=1e-4, detector="") -> str:
    path = tmp_path / "dioptas.poni"
    path.write_text(V1_PONI.format(p1=p1, p2=p2, detector=detector))
    return str(path)


@pytest.mark.parametrize("shape", [(1043, 981), (260, 245), (512, 384)])
@pytest.mark.parametrize("pixels, header", [((1e-4, 1e-4), ""), ((7.5e-5, 1.2e-4), "Detector: Detector\n")])
def test_legacy_poni_keeps_its_pixel_size(tmp_path, shape, pixels, header):
    """1043x981 used to run with Pilatus1M's 172 µm; 260x245 asked for --pixel-size."""
    import pyFAI

    from calterm.core.gain.files import load_calibration

    path = _v1(tmp_path, *pixels, detector=header)
    geometry, det, notes = load_calibration(path, shape)
    assert (det.pixel1, det.pixel2) == pytest.approx(pixels, rel=1e-12)
    assert tuple(det.shape) == shape and "from the PONI" in notes[0]
    rows, cols = np.mgrid[0 : shape[0] : 37, 0 : shape[1] : 29].astype(float)
    theirs = pyFAI.load(path).tth(rows.ravel(), cols.ravel())  # pyFAI's reading of the same file
    np.testing.assert_allclose(geometry.tth(det, rows.ravel(), cols.ravel()), theirs, rtol=0, atol=1e-12)


def test_legacy_poni_pixel_size_overridden_by_the_user_is_said(tmp_path):
    from calterm.core.gain.files import load_calibration

    _, det, notes = load_calibration(_v1(tmp_path), (260, 245), pixel_size_um=172.0)
    assert det.pixel1 == pytest.approx(172e-6) and "overrides the PONI's 100x100 µm" in notes[0]
    _, det, notes = load_calibration(_v1(tmp_path), (1043, 981), detector_name="Pilatus1M")
    assert det.pixel1 == pytest.approx(1e-4) and det.mask is not None and det.mask.sum() > 0


def test_calterm_gain_on_legacy_ponis_runs_with_their_pixel_size(tmp_path, capsys):
    """`calterm gain` with v1 PONIs (pixel size, no shape) on 260x245 frames: it asked for --pixel-size."""
    import glob

    from calterm.cli import main
    from calterm.core.common.geometry import load_poni
    from calterm.core.simulate.amorphous import GainCase, write_case

    pairs, truth = write_case(GainCase(binning=4, seed=3), tmp_path / "data")
    legacy = []
    for k, (frames, poni) in enumerate(pairs):
        g, det = load_poni(poni)
        path = tmp_path / f"v1_{k}.poni"
        path.write_text(f"PixelSize1: {det.pixel1!r}\nPixelSize2: {det.pixel2!r}\nDistance: {g.dist!r}\n"
                        f"Poni1: {g.poni1!r}\nPoni2: {g.poni2!r}\nRot1: {g.rot1!r}\nRot2: {g.rot2!r}\n"
                        f"Rot3: {g.rot3!r}\nWavelength: {g.wavelength!r}\n")
        legacy.append((frames, str(path)))
    assert glob.glob(legacy[0][0])

    def run(position_pairs, name):
        argv = ["gain"]
        for frames, calibration in position_pairs:
            argv += ["--position", frames, "--calibration", calibration]
        code = main([*argv, "-o", str(tmp_path / name), "--date", "2026-05-04", "--json"])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run(legacy, "v1")
    assert code == 0, err
    doc = json.loads(out)
    assert all("688x688 µm from the PONI" in p["notes"][0] for p in doc["inputs"])
    code, out2, err = run(pairs, "v2")
    assert code == 0, err
    np.testing.assert_allclose(tifffile.imread(json.loads(out)["outputs"]["gain"]),
                               tifffile.imread(json.loads(out2)["outputs"]["gain"]), rtol=1e-6)
