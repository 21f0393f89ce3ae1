"""The gain map's files: every name known before the run, each written as a logged version."""

from __future__ import annotations

import json

import numpy as np
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
