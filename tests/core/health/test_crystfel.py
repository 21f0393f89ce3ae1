"""The CrystFEL geometry calterm writes: read by pyFAI (the outside check) and by calterm, both give
the pixel positions of the panel model, and it is kept in versions like every calterm output."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyFAI.geometry.crystfel import build_geometry, parse_crystfel_geom

from calterm.core.common.geometry import PoniGeometry
from calterm.core.common.panel_layouts import Panel, quadrants, sensor_grid
from calterm.core.health.crystfel import geom_text, read_geom
from calterm.core.simulate.powder import SyntheticCase, make_detector

P = 100e-6


def detector(shape):
    return make_detector(SyntheticCase(None, "CeO2", PoniGeometry(0.1, 0, 0), shape=shape, pixel_size_um=100))


def model_positions(panels, poses, geometry, det):
    """Lab (z, y, x) of every pixel centre from calterm's panel model, through pyFAI's geometry."""
    ai = geometry.to_pyfai(det)
    out = [np.full(det.shape, np.nan) for _ in range(3)]
    for p in panels:
        dx, dy, rot = poses.get(p.name, (0.0, 0.0, 0.0))
        rows, cols = np.mgrid[p.y0:p.y1, p.x0:p.x1].astype(float)
        r, c = p.true_positions((dx, dy), math.radians(rot), rows, cols)
        for k, v in enumerate(ai.calc_pos_zyx(d1=r, d2=c, param=list(geometry.as_vector()[:6]), use_cython=False)):
            out[k][p.slices] = v
    return out


LAYOUTS = {
    "quadrants": (lambda: quadrants((96, 80)), (96, 80)),
    "grid 4x4 with gaps": (lambda: sensor_grid((96, 96), 4, 4, gap=2), (96, 96)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pyfai_reads_the_pixel_positions_calterm_wrote(tmp_path, layout):
    make, shape = LAYOUTS[layout]
    panels = make()
    det = detector(shape)
    geometry = PoniGeometry(0.12, 41.3 * P, 37.9 * P, 0.0, 0.0, 0.0, 0.7e-10)
    rng = np.random.default_rng(1)
    poses = {p.name: (*rng.uniform(-4, 4, 2), 0.0) for p in panels}
    path = tmp_path / "det.geom"
    path.write_text(geom_text(panels, poses, geometry, det))
    ai = build_geometry(parse_crystfel_geom(str(path)))
    assert tuple(ai.detector.shape) == shape
    assert ai.dist == pytest.approx(geometry.dist, abs=1e-12)
    assert ai.wavelength == pytest.approx(geometry.wavelength, rel=1e-8)
    z, y, x = ai.calc_pos_zyx(use_cython=False)  # pyFAI's pixel centres, relative to the beam
    mz, my, mx = model_positions(panels, poses, geometry, det)
    inside = np.isfinite(mx)
    # to 1e-4 px: pyFAI keeps pixel corners in float32
    assert np.abs(x - mx)[inside].max() / P < 1e-4
    assert np.abs(y - my)[inside].max() / P < 1e-4
    assert np.abs(z - mz)[inside].max() < 1e-12
    if (~inside).any():  # gaps between sensors: pyFAI masks what no panel covers
        assert np.all(ai.detector.mask[~inside])


def test_a_rotated_panel_is_exact_in_calterm_and_to_the_pixel_corner_in_pyfai(tmp_path):
    """pyFAI's reader lays every pixel axis-aligned from its rotated corner: for 0.5° that moves the
    centre by at most half a pixel times the angle (0.0044 px)."""
    det = detector((64, 64))
    panels = quadrants((64, 64))
    geometry = PoniGeometry(0.1, 30.2 * P, 35.7 * P, 0.0, 0.0, 0.0, 1e-10)
    poses = {"top-left": (1.5, -2.25, 0.0), "top-right": (0.3, 0.4, 0.5)}
    path = tmp_path / "r.geom"
    path.write_text(geom_text(panels, poses, geometry, det))
    mz, my, mx = model_positions(panels, poses, geometry, det)
    z, y, x = read_geom(path).positions(det.shape)
    assert np.abs(x - mx).max() / P < 1e-6 and np.abs(y - my).max() / P < 1e-6
    pz, py, px = build_geometry(parse_crystfel_geom(str(path))).calc_pos_zyx(use_cython=False)
    bound = 0.5 * math.sqrt(2) * math.radians(0.5) + 1e-4
    assert np.abs(px - mx).max() / P < bound and np.abs(py - my).max() / P < bound


def test_a_tilted_detector_is_written_in_three_dimensions(tmp_path):
    """Tilt goes into the fs/ss vectors' z parts and each panel's coffset (CrystFEL reads them; pyFAI's
    reader keeps the in-plane part only)."""
    det = detector((80, 80))
    panels = quadrants((80, 80))
    geometry = PoniGeometry(0.09, 40.2 * P, 38.7 * P, 0.03, -0.02, 0.0, 0.8e-10)
    poses = {"bottom-left": (2.0, -1.0, 0.0), "top-right": (-0.5, 0.25, 0.2)}
    path = tmp_path / "t.geom"
    path.write_text(geom_text(panels, poses, geometry, det))
    g = read_geom(path)
    assert g.clen == pytest.approx(0.09)
    assert any(abs(q.fs[2]) > 1e-3 for q in g.panels) and any(abs(q.coffset) > 1e-7 for q in g.panels)
    z, y, x = g.positions(det.shape)
    mz, my, mx = model_positions(panels, poses, geometry, det)
    for a, b in ((z, mz), (y, my), (x, mx)):
        assert np.abs(a - b).max() < 1e-10


def test_panel_names_become_names_crystfel_accepts(tmp_path):
    det = detector((40, 40))
    panels = [Panel("bad-one", 0, 0, 20, 40), Panel("top left", 20, 0, 40, 20), Panel("top_left", 20, 20, 40, 40)]
    text = geom_text(panels, {}, PoniGeometry(0.1, 20 * P, 20 * P, wavelength=1e-10), det)
    path = tmp_path / "n.geom"
    path.write_text(text)
    names = [q.name for q in read_geom(path).panels]
    assert names == ["p_bad_one", "top_left", "top_left_1"]
    assert "bad" not in parse_crystfel_geom(str(path))  # pyFAI would read a 'bad' group as a masked region


def test_unreadable_geometry_is_one_line(tmp_path):
    from calterm.errors import InputError

    (tmp_path / "x.geom").write_text("clen = 0.1\n")
    with pytest.raises(InputError, match="not a CrystFEL geometry"):
        read_geom(tmp_path / "x.geom")
    with pytest.raises(InputError, match="no such geometry file"):
        read_geom(tmp_path / "missing.geom")
