"""Shared fixtures: calibration images rendered with pyFAI at a known geometry (small or binned
detectors so unit tests stay fast), written once per test session, and the real-data folder.

The real images (no one here made them) live in ``$CALTERM_REALDATA``, by default ``../shared/realdata``
beside the checkout. Without them their tests skip, and the end of pytest's report lists each one
skipped and why, so a run without real data cannot pass for a full one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from calterm.core.common.geometry import PoniGeometry
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, render

REALDATA_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
REALDATA = Path(os.environ.get("CALTERM_REALDATA") or REALDATA_DEFAULT).expanduser()
REALDATA_SKIP = "real data"  # every real-data skip reason starts so; the summary lists them

CASES = {
    # Pilatus1M binned 2x2 (module gaps), LaB6, small tilt
    "pilatus": SyntheticCase("Pilatus1M", "LaB6", PoniGeometry(0.20, 0.0912, 0.0835, 0.012, -0.008, 0.0, 0.4e-10),
                             binning=2, resolution_deg=0.1, seed=1),
    # Eiger4M binned 4x4, CeO2, beam near a corner (only arcs visible), tilted
    "eiger_corner": SyntheticCase("Eiger4M", "CeO2", PoniGeometry(0.12, 0.012, 0.010, 0.03, 0.02, 0.0, 0.5e-10),
                                  binning=4, resolution_deg=0.15, seed=2),
    # Pilatus1M binned 2x2, LaB6, a strongly tilted detector (about 14°: rot1 0.2, rot2 -0.15 rad)
    "pilatus_tilted": SyntheticCase("Pilatus1M", "LaB6",
                                    PoniGeometry(0.20, 0.095, 0.080, 0.20, -0.15, 0.0, 0.4e-10),
                                    binning=2, resolution_deg=0.1, seed=4),
    # Pilatus1M binned 2x2, LaB6, 10° tilt (Fit2D tilt plane 200°, beam at (480, 560) unbinned):
    # the centre of all rings lies tens of pixels off the beam
    "pilatus_tilted_10": SyntheticCase("Pilatus1M", "LaB6",
                                       PoniGeometry(0.19696155, 0.10828423, 0.11528118, 0.16420134, -0.05942615,
                                                    0.0, 0.6199e-10),
                                       binning=2, peak_intensity=3000.0, background=30.0, resolution_deg=0.1,
                                       seed=5),
    # Pilatus1M binned 2x2, corundum (NIST SRM 676) with its real relative ring heights: the 4th
    # ring, (006), is 2 % of the strongest between rings of 21 % and 66 %, and (202) is 1 %
    "pilatus_corundum": SyntheticCase("Pilatus1M", "alpha_Al2O3",
                                      PoniGeometry(0.20, 0.0912, 0.0835, 0.012, -0.008, 0.0, 0.4e-10),
                                      binning=2, resolution_deg=0.1, seed=6,
                                      ring_heights=(0.45, 1.0, 0.21, 0.02, 0.66, 0.01, 0.34, 0.89)),
    # PerkinElmer flat panel binned, Si, strong background, hot and dead pixels
    "perkin_noisy": SyntheticCase("Perkin", "Si", PoniGeometry(0.30, 0.2, 0.21, 0.01, -0.01, 0.0, 0.4e-10),
                                  binning=4, resolution_deg=0.12, peak_intensity=800.0, background=300.0,
                                  hot_pixels=150, dead_pixels=150, seed=3),
}


@dataclass(frozen=True)
class RenderedCase:
    name: str
    path: Path
    case: SyntheticCase
    detector: object
    image: np.ndarray

    @property
    def truth(self) -> PoniGeometry:
        return self.case.geometry

    @property
    def beam_xy(self) -> tuple[float, float]:
        return self.truth.beam_center_px(self.detector)

    @property
    def detector_name(self) -> str:
        return self.case.detector


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """``rendered(name)`` -> RenderedCase, rendering each case once per session."""
    cache: dict[str, RenderedCase] = {}
    folder = tmp_path_factory.mktemp("cases")

    def get(name: str) -> RenderedCase:
        if name not in cache:
            case = CASES[name]
            image, det = render(case)
            path = folder / f"{name}.tif"
            write_image(path, image.astype(np.float32))
            cache[name] = RenderedCase(name, path, case, det, image)
        return cache[name]

    return get


def assert_poni_file_is(path, geometry: PoniGeometry, detector) -> None:
    """The PONI file at ``path``, read back by pyFAI, is ``geometry`` on ``detector``: all seven
    parameters (to 1e-12 relative) and the 2θ of every pixel (pyFAI's twoThetaArray of the file
    against that of the geometry, to 1e-12 rad), so a sign flip or an added rotation cannot pass."""
    import pyFAI

    from calterm.core.common.geometry import PARAMS

    read = pyFAI.load(str(path))
    for name in PARAMS:
        assert getattr(read, name) == pytest.approx(getattr(geometry, name), rel=1e-12, abs=1e-15), name
    truth = geometry.to_pyfai(detector)
    shape = tuple(detector.shape)
    assert tuple(read.detector.shape) == shape and read.detector.pixel1 == pytest.approx(detector.pixel1)
    np.testing.assert_allclose(read.twoThetaArray(shape), truth.twoThetaArray(shape), rtol=0, atol=1e-12)


@pytest.fixture(scope="session")
def poni_file_is():
    """``poni_file_is(path, geometry, detector)``: see :func:`assert_poni_file_is`."""
    return assert_poni_file_is


def realdata_file(name: str) -> Path:
    """A file of the real-data folder, or a skip that names where it was looked for."""
    path = REALDATA / name
    if not path.is_file():
        how = "CALTERM_REALDATA" if os.environ.get("CALTERM_REALDATA") else "the default; set CALTERM_REALDATA"
        pytest.skip(f"{REALDATA_SKIP}: {path} not found ({how})")
    return path


@pytest.fixture(scope="session")
def realdata_path():
    """``realdata_path(name)`` -> the real file, or a skip naming where it was looked for."""
    return realdata_file


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The real-data folder (its README.md must be there), or a skip saying where it was looked for."""
    return realdata_file("README.md").parent


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say, after every run, which real-data tests were skipped and why (they guard what synthetic
    images cannot: a run without them is not a full run)."""
    skipped = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith(REALDATA_SKIP):
            skipped.append((report.nodeid, reason))
    if skipped:
        terminalreporter.section("real data not tested", sep="-", yellow=True)
        terminalreporter.line(f"{len(skipped)} real-data test(s) skipped; folder {REALDATA} "
                              "(set CALTERM_REALDATA to the folder of the real images):")
        for nodeid, reason in skipped:
            terminalreporter.line(f"  {nodeid}: {reason}")
