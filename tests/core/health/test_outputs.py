"""What the dark, mask and align faces share after the computation: one writer per capability
(versions, logged provenance), and one frames-per-second meter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calterm.core.common.jobs import Progress
from calterm.core.io.images import read_array
from calterm.core.io.versions import list_versions, read_log
from calterm.errors import InputError


def test_frame_rate_counts_each_stage_from_its_own_first_report():
    from calterm.core.health.dark import FrameRate, with_rate

    rate = FrameRate()
    assert rate(Progress("dark statistics", 10, 100, 1.0)) == 0.0
    assert rate(Progress("dark statistics", 30, 100, 3.0)) == pytest.approx(10.0)  # 20 frames in 2 s
    assert rate.new_stage(Progress("sigma clipping 1", 0, 100, 4.0)) and rate.stages == 1
    assert rate(Progress("sigma clipping 1", 0, 100, 4.0)) == 0.0
    assert rate(Progress("sigma clipping 1", 50, 100, 4.5)) == pytest.approx(100.0)
    seen = []
    report = with_rate(seen.append)
    report(Progress("dark statistics", 0, 8, 0.0))
    report(Progress("dark statistics", 8, 8, 0.5))
    assert [p.stage for p in seen] == ["dark statistics · 0 frames/s", "dark statistics · 16 frames/s"]
    assert with_rate(None) is None


def test_write_dark_outputs_versions_each_image_and_logs_its_sources(tmp_path):
    from calterm.core.health.dark import DarkOptions, compute_dark, dark_provenance, write_dark_outputs

    rng = np.random.default_rng(1)
    frames = rng.normal(100, 3, (5, 6, 7))
    np.save(tmp_path / "run.npy", frames)
    result = compute_dark([str(tmp_path / "run.npy")], DarkOptions(ddof=1))
    inputs = dark_provenance(result, ["list.txt"])
    assert inputs == {"sources": [str(tmp_path / "run.npy")], "n_sources": 1, "lists": ["list.txt"],
                      "frames_used": 5, "frames_skipped": 0, "std": "sample"}
    paths = {"average": tmp_path / "a.edf", "std": tmp_path / "s.npy"}
    for k in range(2):
        written = write_dark_outputs(result, paths, "test", inputs)
        assert {n: p.name for n, p in written.items()} == {"average": f"a.v{k}.edf", "std": f"s.v{k}.npy"}
    np.testing.assert_allclose(read_array(tmp_path / "a.edf")[0], frames.mean(0), rtol=1e-6)
    np.testing.assert_allclose(read_array(tmp_path / "s.npy")[0], frames.std(0, ddof=1), rtol=1e-12)
    log = read_log(tmp_path / "s.npy")
    assert [r["command"] for r in log] == ["test --std"] * 2 and log[0]["inputs"] == inputs
    with pytest.raises(InputError, match="clip sigma"):
        write_dark_outputs(result, {"clipped_mean": tmp_path / "c.npy"}, "test", inputs)
    assert not (tmp_path / "c.npy").exists()


def test_mask_from_files_and_its_written_version(tmp_path):
    from calterm.core.health.mask import (
        MaskRules,
        MaskSources,
        build_mask_from_files,
        mask_provenance,
        write_mask_output,
    )

    average = np.full((8, 9), 500.0)
    average[2, 3] = 2500.0  # hot
    old = np.zeros((8, 9), np.uint8)
    old[0] = 1  # 1 = good in this file: row 0 good, every other pixel masked
    np.save(tmp_path / "avg.npy", average)
    np.save(tmp_path / "old.npy", old)
    sources = MaskSources(average=str(tmp_path / "avg.npy"), combine=(str(tmp_path / "old.npy"),),
                          combine_mode="intersection", combine_good=True)
    result = build_mask_from_files(sources, MaskRules(std_max=None))
    expected = (average > 2000) & (old == 0)
    np.testing.assert_array_equal(result.mask, expected)
    assert result.counts == {"not_finite": 0, "average_low": 0, "average_high": 1, "file:old.npy": 63}
    inputs = mask_provenance(sources, MaskRules(std_max=None))
    assert inputs["rules"]["std_max"] is None and inputs["rules"]["combine_mode"] == "intersection"
    version = write_mask_output(result, tmp_path / "m.edf", good=True, command="test", inputs=inputs)
    assert version.name == "m.v0.edf"
    np.testing.assert_array_equal(read_array(tmp_path / "m.edf")[0], (~expected).astype(np.uint8))
    assert read_log(tmp_path / "m.edf")[0]["inputs"]["convention"] == "1 = good"


def test_alignment_outputs_through_one_writer(tmp_path):
    from calterm.core.health.alignment import (
        AlignSources,
        align_from_files,
        alignment_provenance,
        write_alignment_outputs,
    )

    yy, xx = np.mgrid[0:80, 0:80]
    r = np.hypot(xx - 39.5, yy - 39.5)
    image = 100 * (np.exp(-((r - 15) ** 2) / 4) + np.exp(-((r - 28) ** 2) / 4)) + 1
    np.save(tmp_path / "rings.npy", image)
    sources = AlignSources(str(tmp_path / "rings.npy"), (39.5, 39.5), search_px=4)
    run = align_from_files(sources)
    for p in run.result.panels:  # concentric rings, panels in place
        assert np.abs(p.shift).max() < 0.2, p
    written = write_alignment_outputs(run, corrected=tmp_path / "fixed.tif", offsets=tmp_path / "o.json",
                                      command="test", inputs=alignment_provenance(sources))
    assert {n: p.name for n, p in written.items()} == {"corrected": "fixed.v0.tif", "offsets": "o.v0.json"}
    doc = json.loads((tmp_path / "o.json").read_text())
    assert [p["correction"] for p in doc["panels"]] == [[-p.shift[0], -p.shift[1]] for p in run.result.panels]
    assert read_log(tmp_path / "o.json")[0]["command"] == "test --offsets"
    assert read_log(tmp_path / "fixed.tif")[0]["inputs"]["center"] == [39.5, 39.5]
    with pytest.raises(InputError, match="outside"):
        align_from_files(AlignSources(str(tmp_path / "rings.npy"), (90.0, 3.0)))
    assert len(list_versions(tmp_path / "o.json")) == 1


def test_health_and_gain_write_only_through_the_one_writer():
    """No dark/mask/align/gain/history code (CLI, screens, core) writes a file itself: every image
    is formatted by ``write_image`` inside a ``write_output`` call, every text by ``write_text_output``."""
    import re
    from pathlib import Path

    import calterm

    src = Path(calterm.__file__).parent
    files = [*(src / "cli").glob("[dmagh]*.py"), *(src / "core" / "health").glob("*.py"),
             *(src / "core" / "gain").glob("*.py"), *(src / "tui" / "screens" / "health").glob("*.py"),
             *(src / "tui" / "screens" / "gain").glob("*.py"), src / "tui" / "screens" / "tool_form.py"]
    direct = re.compile(r"write_versioned|atomic_write|imwrite|\.write_text\(|np\.save\(|open\([^)]*['\"][wax]")
    offenders = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if direct.search(line) or ("write_image(" in line and "write_output(" not in line
                                       and "import" not in line):
                offenders.append(f"{path.relative_to(src)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
