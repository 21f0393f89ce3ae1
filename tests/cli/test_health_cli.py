"""`calterm dark`, `mask`, `align` and `history` end to end: numbers, files, versions, one-line errors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.io.images import read_array


def call(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def dark_files(tmp_path_factory):
    import tifffile

    tmp = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(4)
    pedestal = rng.uniform(100, 900, (16, 20))
    frames = np.round(pedestal + rng.uniform(1, 5, (16, 20)) * rng.standard_normal((30, 16, 20))).astype(np.uint16)
    for i in range(20):
        tifffile.imwrite(tmp / f"dark_{i}.tif", frames[i])
    np.save(tmp / "tail.npy", frames[20:])
    (tmp / "files.txt").write_text("tail.npy\n")
    return tmp, frames.astype(np.float64)


def test_dark_writes_versioned_statistics_and_a_json_report(capsys, tmp_path, dark_files):
    src, ref = dark_files
    rc, out, err = call(capsys, "dark", src / "dark_*.tif", "--list", src / "files.txt",
                        "--average", tmp_path / "avg.edf", "--std", tmp_path / "std.tif", "--max", tmp_path / "max.npy",
                        "--min", tmp_path / "min.npy", "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["frames_used"] == 30 and report["frames_skipped"] == 0 and report["std"] == "population (N)"
    assert report["frames_per_s"] > 0 and report["time_s"] >= 0
    np.testing.assert_allclose(read_array(tmp_path / "avg.edf")[0], ref.mean(0), rtol=1e-6)
    np.testing.assert_allclose(read_array(tmp_path / "std.tif")[0], ref.std(0), rtol=1e-6)
    np.testing.assert_array_equal(read_array(tmp_path / "max.npy")[0], ref.max(0))
    np.testing.assert_array_equal(read_array(tmp_path / "min.npy")[0], ref.min(0))
    assert (tmp_path / "avg.v0.edf").is_file() and (tmp_path / "avg.edf").is_symlink()


def test_dark_sample_std_and_two_workers(capsys, tmp_path, dark_files):
    src, ref = dark_files
    rc, out, err = call(capsys, "dark", src / "dark_*.tif", src / "tail.npy", "--std", tmp_path / "s.npy",
                        "--sample-std", "--workers", "2", "--json")
    assert rc == 0, err
    np.testing.assert_allclose(read_array(tmp_path / "s.npy")[0], ref.std(0, ddof=1), rtol=1e-6)


def test_dark_skips_a_corrupt_file_with_a_warning(capsys, tmp_path, dark_files):
    src, ref = dark_files
    (tmp_path / "broken.tif").write_bytes(b"II*\x00garbage")
    rc, out, err = call(capsys, "dark", src / "tail.npy", tmp_path / "broken.tif", "--average", tmp_path / "a.npy",
                        "--json")
    assert rc == 0
    assert json.loads(out)["frames_skipped"] == 1 and "warning: skipped" in err and "broken.tif" in err
    np.testing.assert_allclose(read_array(tmp_path / "a.npy")[0], ref[20:].mean(0), rtol=1e-6)


def test_dark_skips_and_counts_nan_frames_in_text_and_json(capsys, tmp_path, dark_files):
    src, ref = dark_files
    frames = ref[20:].astype(np.float32)
    frames[4] = np.nan
    frames[6, 0, :3] = np.inf  # 3 pixels of one frame: left out, the frame kept
    np.save(tmp_path / "f.npy", frames)
    rc, out, err = call(capsys, "dark", tmp_path / "f.npy", "--average", tmp_path / "a.npy", "--json")
    assert rc == 0, err
    report = json.loads(out)
    assert report["frames_used"] == 9 and report["frames_nonfinite"] == 1 and report["frames_skipped"] == 1
    assert report["frames_partly_nonfinite"] == 1
    assert "frame 4" in err and "NaN/Inf in 320 of 320 pixels" in err
    good = np.delete(ref[20:], 4, axis=0)
    expected = good.mean(0)
    expected[0, :3] = np.delete(good, 5, axis=0)[:, 0, :3].mean(0)
    np.testing.assert_allclose(read_array(tmp_path / "a.npy")[0], expected, rtol=1e-6)
    rc, out, err = call(capsys, "dark", tmp_path / "f.npy", "--average", tmp_path / "a.npy")
    assert rc == 0 and "9 frames used, 1 skipped (1 NaN/Inf)" in out and "1 frames had some NaN/Inf" in out


@pytest.mark.parametrize("args, message", [
    (["dark", "--average", "{t}/a.npy"], "no input frames"),
    (["dark", "{t}/missing.tif", "--average", "{t}/a.npy"], "no such file"),
    (["dark", "{t}/nothing_*.tif", "--average", "{t}/a.npy"], "no file matches"),
    (["dark", "{s}/tail.npy"], "nothing to write"),
    (["dark", "{s}/tail.npy", "--average", "{t}/nodir/a.npy"], "does not exist"),
    (["dark", "{s}/tail.npy", "--average", "{t}/a.png"], "unknown image format"),
    (["dark", "{s}/tail.npy", "{t}/other.npy", "--average", "{t}/a.npy"], "differs from the run's"),
    (["dark", "{s}/tail.npy", "--gate-range", "500,100", "--average", "{t}/a.npy"], "--gate-range: low 500"),
    (["dark", "{s}/tail.npy", "--gate-range", "100,100", "--average", "{t}/a.npy"], "must be below high"),
    (["mask", "--average", "{t}/missing.edf", "-o", "{t}/m.npy"], "no such file"),
    (["mask", "--average", "{s}/tail.npy", "-o", "{t}/m.npy"], "expected a 2D"),
    (["mask", "--average", "{t}/a2.npy", "--bright-max-min", "lots", "-o", "{t}/m.npy"], "expected a number"),
    (["mask", "--average", "{t}/a2.npy", "--max", "{t}/a2.npy", "-o", "{t}/m.npy"], "--max: whose maximum?"),
    (["mask", "--average", "{t}/a2.npy", "--max-min", "300", "-o", "{t}/m.npy"], "now --bright-max-min"),
    (["mask", "--average", "{t}/a2.npy", "--max-share", "0", "-o", "{t}/m.npy"], "--max-share: expected a positive"),
    (["mask", "--average", "{t}/a2.npy", "--max-share", "150", "-o", "{t}/m.npy"], "at most 100"),
    (["mask", "--average", "{t}/a2.npy", "--tth-range", "40,2", "-o", "{t}/m.npy"], "--tth-range: low 40 must be below"),
    (["align", "{t}/a2.npy", "--center", "5"], "expected X,Y"),
    (["align", "{t}/a2.npy", "--center", "500,3"], "outside"),
    (["align", "{t}/a2.npy", "--center", "5,5", "--panels", "{t}/missing.txt"], "no such layout"),
    (["history", "{t}/never.edf"], "no versions"),
])
def test_bad_inputs_give_one_line_and_exit_2(capsys, tmp_path, dark_files, args, message):
    src, _ = dark_files
    np.save(tmp_path / "other.npy", np.zeros((2, 5, 5), np.uint16))
    np.save(tmp_path / "a2.npy", np.ones((16, 20)))
    rc, out, err = call(capsys, *[a.format(t=tmp_path, s=src) for a in args])
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_mask_applies_the_rule_and_reports_counts(capsys, tmp_path):
    import fabio.edfimage

    rng = np.random.default_rng(8)
    a, s, m = rng.uniform(-10, 2200, (30, 40)), rng.uniform(-1, 12, (30, 40)), rng.uniform(200, 400, (30, 40))
    for name, img in (("a.edf", a), ("s.edf", s), ("m.edf", m)):
        fabio.edfimage.EdfImage(data=img).write(str(tmp_path / name))
    dioptas = np.zeros((30, 40), np.uint8)
    dioptas[:5] = 1
    from PIL import Image  # as Dioptas saves a mask: np.int8 through PIL as TIFF, 1 = masked

    Image.fromarray(np.int8(dioptas)).save(str(tmp_path / "old.mask"), "tiff")
    rc, out, err = call(capsys, "mask", "--average", tmp_path / "a.edf", "--std", tmp_path / "s.edf",
                        "--bright-max", tmp_path / "m.edf", "-o", tmp_path / "mask.edf", "--combine",
                        tmp_path / "old.mask", "--force", "--json")
    assert rc == 0, err
    report = json.loads(out)
    bad = ~((a > 0) & (a <= 2000) & (s > 0) & (s <= 10) & (m >= 300))
    written = read_array(tmp_path / "mask.edf")[0]
    np.testing.assert_array_equal(written, (bad | (dioptas == 1)).astype(np.uint8))
    assert report["rules"]["bright_max_low"] == int((m < 300).sum()) and report["rules"]["file:old.mask"] == 200
    assert report["convention"] == "1 = masked" and report["over_share_limit"]  # random statistics: most pixels
    assert report["pixel_rules_fraction"] == pytest.approx(bad.mean())
    assert "warning: the pixel rules mask" in err and "bright_max_low (bright max < 300)" in err
    rc, out, err = call(capsys, "mask", "--average", tmp_path / "a.edf", "--std-max", "none", "--good",
                        "--max-share", "none", "-o", tmp_path / "mask.edf", "--json")
    assert rc == 0, err
    np.testing.assert_array_equal(read_array(tmp_path / "mask.edf")[0], ((a > 0) & (a <= 2000)).astype(np.uint8))
    rc, out, err = call(capsys, "history", tmp_path / "mask.edf", "--json")
    assert rc == 0
    history = json.loads(out)
    assert [v["version"] for v in history["versions"]] == [0, 1] and history["versions"][1]["current"]
    assert history["versions"][0]["command"] == "calterm mask"
    rc, out, err = call(capsys, "history", tmp_path / "mask.edf", "--restore", "0")
    assert rc == 0 and "mask.v0.edf" in out
    np.testing.assert_array_equal(read_array(tmp_path / "mask.edf")[0], written)
    rc, out, err = call(capsys, "history", tmp_path / "mask.edf")
    assert rc == 0 and out.splitlines()[0].startswith("* v0")


def test_align_json_contract_offsets_and_corrected_image(capsys, tmp_path):
    from calterm.core.common.geometry import PoniGeometry
    from calterm.core.common.panel_layouts import quadrants
    from calterm.core.simulate.powder import SyntheticCase, render

    n, pix, center = 200, 100e-6, (101.3, 97.6)
    shifts = {"top-left": (3.4, -1.7), "top-right": (0.0, 0.0), "bottom-right": (-5.2, 2.6), "bottom-left": (1.1, 4.3)}
    geo = PoniGeometry(dist=0.03, poni1=(center[1] + 0.5) * pix, poni2=(center[0] + 0.5) * pix, wavelength=0.5e-10)
    case = SyntheticCase(None, "CeO2", geo, shape=(n, n), pixel_size_um=100, resolution_deg=0.25, peak_intensity=1000)
    image = np.zeros((n, n))
    for q in quadrants((n, n)):
        dx, dy = shifts[q.name]
        moved = replace(geo, poni1=geo.poni1 + dy * pix, poni2=geo.poni2 + dx * pix)
        image[q.slices] = render(replace(case, geometry=moved))[0][q.slices]
    np.save(tmp_path / "powder.npy", image)
    rc, out, err = call(capsys, "align", tmp_path / "powder.npy", "--center", f"{center[0]},{center[1]}",
                        "--panels", "quadrants", "--search", "8", "--json", "--offsets", tmp_path / "offsets.json",
                        "--corrected", tmp_path / "fixed.npy")
    assert rc == 0, err
    report = json.loads(out)
    assert [p["name"] for p in report["panels"]] == list(shifts)
    for p in report["panels"]:
        assert np.abs(np.subtract(p["shift"], shifts[p["name"]])).max() < 0.25, p
    assert report["cc_after"] > report["cc_before"]
    offsets = json.loads((tmp_path / "offsets.json").read_text())
    assert offsets["panels"][2]["correction"] == pytest.approx([5.2, -2.6], abs=0.25)
    assert read_array(tmp_path / "fixed.npy")[0].shape == (n, n)
    (tmp_path / "layout.txt").write_text("# two panels only\nA 0 0 100 100\nB 100 100 200 200\n")
    rc, out, err = call(capsys, "align", tmp_path / "powder.npy", "--center", f"{center[0]},{center[1]}",
                        "--panels", tmp_path / "layout.txt", "--search", "8", "--json")
    assert rc == 0, err
    by_name = {p["name"]: p["shift"] for p in json.loads(out)["panels"]}
    assert np.abs(np.subtract(by_name["B"], shifts["bottom-right"])).max() < 0.25


def test_dark_on_a_dask_scheduler_address(capsys, tmp_path, dark_files):
    from distributed import LocalCluster

    src, ref = dark_files
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster:
        rc, out, err = call(capsys, "dark", src / "dark_*.tif", src / "tail.npy", "--average", tmp_path / "a.npy",
                            "--std", tmp_path / "s.npy", "--scheduler", cluster.scheduler_address, "--json")
    assert rc == 0, err
    assert json.loads(out)["scheduler"] == cluster.scheduler_address
    np.testing.assert_allclose(read_array(tmp_path / "a.npy")[0], ref.mean(0), rtol=1e-6)
    np.testing.assert_allclose(read_array(tmp_path / "s.npy")[0], ref.std(0), rtol=1e-6)


# --- preflight: every output checked before any work starts ------------------------------------
def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def unwritable(monkeypatch, directory):
    """``directory`` reads as unwritable (tests run as root, for whom permission bits do not count)."""
    import os

    real = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and os.path.realpath(path) == os.path.realpath(directory):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


# (verb arguments with {out} for the output checked, its suffix); the inputs are missing or the work
# refuses to run, so the error can only come from a check made before any of it.
VERBS = {
    "dark": (["dark", "{s}/tail.npy", "--std", "{t}/s.npy", "--average", "{out}"], ".edf"),
    "mask": (["mask", "--average", "{t}/missing.edf", "-o", "{out}"], ".edf"),
    "align-corrected": (["align", "{t}/missing.tif", "--center", "5,5", "--corrected", "{out}"], ".tif"),
    "align-offsets": (["align", "{t}/missing.tif", "--center", "5,5", "--offsets", "{out}"], ".json"),
}
PLACES = {
    "no such directory": "{t}/nodir/out{suffix}",
    "a file as directory": "{t}/afile/out{suffix}",
    "unwritable directory": "{t}/ro/out{suffix}",
    "bad suffix": "{t}/out.png",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("verb", VERBS)
def test_outputs_are_checked_before_any_work(capsys, tmp_path, monkeypatch, dark_files, verb, place):
    src, _ = dark_files
    (tmp_path / "afile").write_text("")
    (tmp_path / "ro").mkdir()
    unwritable(monkeypatch, tmp_path / "ro")

    def no_work(*args, **kwargs):
        raise AssertionError("the computation ran before its outputs were checked")

    monkeypatch.setattr("calterm.cli.dark.compute_dark", no_work, raising=False)
    template, suffix = VERBS[verb]
    out = PLACES[place].format(t=tmp_path, suffix=suffix)
    before = files_under(tmp_path)
    rc, stdout, err = call(capsys, *[a.format(t=tmp_path, s=src, out=out) for a in template])
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and out in err and "Traceback" not in err, err
    assert files_under(tmp_path) == before  # nothing written, not even the other outputs


def test_history_restore_into_an_unwritable_directory_changes_nothing(capsys, tmp_path, monkeypatch):
    np.save(tmp_path / "a.npy", np.ones((16, 20)))
    for _ in range(2):
        assert call(capsys, "mask", "--average", tmp_path / "a.npy", "-o", tmp_path / "m.npy")[0] == 0
    log = (tmp_path / "m.npy.log").read_text()
    unwritable(monkeypatch, tmp_path)
    rc, out, err = call(capsys, "history", tmp_path / "m.npy", "--restore", "0")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "not writable" in err, err
    assert (tmp_path / "m.npy").readlink().name == "m.v1.npy" and (tmp_path / "m.npy.log").read_text() == log
    rc, out, err = call(capsys, "history", tmp_path / "m.npy", "--restore", "5")
    assert rc == 2 and "no version 5" in err


def test_dark_log_records_what_the_images_came_from(capsys, tmp_path, dark_files):
    from calterm.core.io.versions import read_log

    src, _ = dark_files
    rc, out, err = call(capsys, "dark", src / "dark_*.tif", "--list", src / "files.txt", "--average",
                        tmp_path / "a.npy", "--clip-sigma", "3", "--clipped-mean", tmp_path / "c.npy", "--json")
    assert rc == 0, err
    for name, flag in (("a.npy", "--average"), ("c.npy", "--clipped-mean")):
        (record,) = read_log(tmp_path / name)
        assert record["command"] == f"calterm dark {flag}"
        inputs = record["inputs"]
        assert inputs["n_sources"] == 21 and len(inputs["sources"]) == 20 and inputs["frames_used"] == 30
        assert inputs["lists"] == [str(src / "files.txt")] and inputs["std"] == "population"
    rc, out, err = call(capsys, "dark", src / "tail.npy", "--clip-sigma", "-1", "--average", tmp_path / "b.npy")
    assert rc == 2 and "--clip-sigma" in err and not (tmp_path / "b.npy").exists()
