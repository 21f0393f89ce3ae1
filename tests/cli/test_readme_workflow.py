"""The README's dark -> mask example, run as printed, on small synthetic dark runs with planted dead,
hot and noisy pixels: the mask holds those pixels and little else, on detectors of different offsets
and noise; a run whose statistics the default rule does not fit is refused, naming the rule."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from calterm.cli import main
from calterm.core.io.images import read_array

README = Path(__file__).resolve().parents[2] / "README.md"
SHAPE = (48, 64)
FRAMES = 12


def readme_commands(verb: str) -> list[str]:
    """The README's `calterm VERB ...` line, optional [..] parts dropped, as argv (VERB first)."""
    for line in README.read_text().splitlines():
        if line.startswith(f"calterm {verb} "):
            return shlex.split(re.sub(r"\s*\[[^]]*\]", "", line))[1:]
    raise AssertionError(f"no `calterm {verb}` line in the README")


def dark_run(folder: Path, offset: float, noise: float, seed: int) -> dict[str, np.ndarray]:
    """CBF frames (int32, like the README's 'run7/*.cbf'): offset + per-pixel pedestal spread + noise.

    Planted: dead pixels (constant value: std 0), hot pixels (average well above the rule's 2000 ADU
    bound) and noisy pixels (std 25 ADU, above the rule's 10). Returns the planted flat indices."""
    import fabio.cbfimage

    rng = np.random.default_rng(seed)
    pedestal = offset + rng.uniform(-0.2, 0.2, SHAPE) * offset
    sigma = noise * rng.uniform(0.7, 1.3, SHAPE)
    frames = pedestal + sigma * rng.standard_normal((FRAMES, *SHAPE))
    flat = rng.permutation(np.prod(SHAPE))
    planted = {"dead": flat[:9], "hot": flat[9:20], "noisy": flat[20:27]}
    stack = frames.reshape(FRAMES, -1)
    stack[:, planted["dead"]] = offset
    stack[:, planted["hot"]] += 4000
    stack[:, planted["noisy"]] = offset + 25 * rng.standard_normal((FRAMES, 7))
    folder.mkdir(parents=True)
    for i, frame in enumerate(np.clip(np.rint(frames), 0, None).astype(np.int32)):
        fabio.cbfimage.CbfImage(data=frame).write(str(folder / f"dark_{i:03d}.cbf"))
    return planted


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


# offsets of integrating detectors, ADU: a CCD's bias of ~100 (below the rule's bright-run 300), a
# mid one, a CSPAD-like 1200; noise of 2-6 ADU
@pytest.mark.parametrize("offset, noise", [(100.0, 2.0), (250.0, 4.0), (1200.0, 6.0)])
def test_readme_dark_then_mask_masks_the_planted_pixels_and_little_else(capsys, tmp_path, monkeypatch,
                                                                        offset, noise):
    monkeypatch.chdir(tmp_path)
    dark, mask = readme_commands("dark"), readme_commands("mask")
    planted = dark_run(tmp_path / Path(dark[1]).parent, offset, noise, seed=int(offset))
    rc, out, err = run(capsys, dark)
    assert rc == 0, err
    rc, out, err = run(capsys, [*mask, "--json"])
    assert rc == 0, err
    report = json.loads(out)
    output = mask[mask.index("-o") + 1]
    written = read_array(tmp_path / output)[0].astype(bool).ravel()
    for kind, where in planted.items():
        assert written[where].all(), kind
    n_planted = sum(len(v) for v in planted.values())
    # the rest: a normal pixel is masked only if its own noise is far out (std rule, 10 ADU at 6 ADU x1.3 max)
    assert written.sum() <= n_planted + 0.01 * written.size, (written.sum(), report["rules"])
    assert report["masked_fraction"] < 0.02


def test_readme_mask_refuses_a_mask_of_most_of_the_detector_naming_the_rule(capsys, tmp_path, monkeypatch):
    """An offset of 3000 ADU is above the rule's average bound of 2000: every pixel would be masked.
    That is refused (exit 1, no file) with the rule named, and written with --force."""
    monkeypatch.chdir(tmp_path)
    dark, mask = readme_commands("dark"), readme_commands("mask")
    dark_run(tmp_path / Path(dark[1]).parent, 3000.0, 5.0, seed=3)
    assert run(capsys, dark)[0] == 0
    output = mask[mask.index("-o") + 1]
    rc, out, err = run(capsys, mask)
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "average_high" in err and "average > 2000" in err and "20 %" in err, err
    assert not list(tmp_path.glob(Path(output).stem + "*"))
    rc, out, err = run(capsys, [*mask, "--force"])
    assert rc == 0 and "warning" in err and "average_high" in err
    assert read_array(tmp_path / output)[0].astype(bool).mean() > 0.99
