"""The session document: every field survives save and load exactly, writes are atomic."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from calterm.core.calibrate.model import (
    CalibrationRequest,
    CalibrationResult,
    ControlPoint,
    RingResidual,
    Verdict,
)
from calterm.core.common.geometry import Constraints, PoniGeometry
from calterm.core.common.history import History
from calterm.errors import InputError
from calterm.tui.session import (
    Session,
    keep_previous,
    load_prefs,
    load_session,
    save_prefs,
    save_session,
    session_path,
)


def _result() -> CalibrationResult:
    rng = np.random.default_rng(3)
    hist = History(("stage", "iteration", "cost", "dist"))
    for i in range(5):
        hist.add(stage="refine", iteration=i, cost=float(rng.random()), dist=0.18 + 1e-5 * i)
    hist.add(stage="final", iteration=5, cost=float("nan"), dist=0.1800123456789)
    return CalibrationResult(
        geometry=PoniGeometry(0.18000001234, 0.0912, 0.0835, 0.012, -0.008, 0.0, 0.3344e-10),
        sigma={"dist": 1.2e-6, "poni1": 3.4e-7},
        detector_name="Pilatus1M", shape=(1043, 981),
        rows=rng.random(7) * 1000, cols=rng.random(7) * 900, ring=np.arange(7) % 3 + 1,
        residual_rad=rng.normal(0, 1e-4, 7),
        rings=(RingResidual(1, 4.15, 0.46, 3, 1e-5, 2e-5), RingResidual(2, 2.93, 0.65, 1, 0.0, float("nan"))),
        verdict=Verdict("good", ("RMS at the noise floor",), 1.7e-4, 1.5e-4),
        history=hist, fit2d={"directDist": 180.0123, "centerX": 485.5, "centerY": 530.2, "tilt": 0.8,
                             "tiltPlanRotation": -33.0},
        timings_s={"fit": 0.5}, calibrant="LaB6",
    )


def _session() -> Session:
    req = CalibrationRequest(
        image_path="/data/lab6.tif", calibrant="LaB6", wavelength_m=0.3344e-10, rotate=90, flip="h",
        detector="Pilatus1M", distance_mm=189.0, center_xy=(497, 521.25),
        points=(ControlPoint(1.5, 2.25, 1), ControlPoint(100.125, 3.0, None)),
        constraints=Constraints(fixed=frozenset({"rot3"}), bounds={"dist": (0.1, 0.3)}),
        peak_method="massif", delta_2th_deg=0.5, i_max=55000.0,
    )
    return Session(request=req, demo=True, screen="points", ring=3, auto_increment=True, use_mask=False,
                   cursor_xy=(12.5, 40.0), zoom=True, result=_result(), rings_from_result=True,
                   circle_points=(ControlPoint(3.0, 4.0, 1),), circle_result={"center": [1.0, 2.0], "radius": 3.5},
                   outputs={"poni": "/tmp/x.poni"})


def _same_result(a: CalibrationResult, b: CalibrationResult) -> None:
    for name in ("rows", "cols", "ring", "residual_rad"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.geometry == b.geometry and a.sigma == b.sigma and a.fit2d == b.fit2d
    assert a.verdict == b.verdict and a.shape == b.shape and a.calibrant == b.calibrant
    assert a.rings[0] == b.rings[0] and np.isnan(b.rings[1].std_deg)
    assert a.history.columns == b.history.columns
    assert a.history.rows[:-1] == b.history.rows[:-1] and np.isnan(b.history.rows[-1][2])


def test_roundtrip_is_exact(tmp_path):
    s = _session()
    path = save_session(s, tmp_path / "s.json")
    back = load_session(path)
    assert back.request == s.request
    _same_result(s.result, back.result)
    for name in ("demo", "screen", "ring", "auto_increment", "use_mask", "cursor_xy", "zoom", "circle_points", "rings_from_result",
                 "circle_result", "outputs"):
        assert getattr(back, name) == getattr(s, name), name
    # human-readable, strict JSON (no NaN tokens)
    doc = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert doc["request"]["calibrant"] == "LaB6" and doc["format"] == "calterm-session"


def test_default_location_follows_calterm_home(tmp_path):
    s = _session()
    path = save_session(s)
    assert path == session_path() and str(path).startswith(os.environ["CALTERM_HOME"])
    assert load_session().request == s.request


def test_atomic_write_leaves_old_document_when_writer_dies(tmp_path, monkeypatch):
    s = _session()
    save_session(s)
    before = session_path().read_text()
    import calterm.core.io.versions as versions

    def boom(*a, **k):
        raise OSError("disk vanished")

    monkeypatch.setattr(versions.os, "fsync", boom)
    s.ring = 9
    with pytest.raises(OSError):
        save_session(s)
    assert session_path().read_text() == before
    assert [p.name for p in session_path().parent.iterdir() if p.name.endswith(".tmp.json")] == []


def test_damaged_or_missing_session_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no session"):
        load_session(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\"format\": \"calterm-session\", \"request\": {}}")
    with pytest.raises(InputError):
        load_session(bad)


def test_keep_previous_and_prefs():
    save_session(_session())
    backup = keep_previous()
    assert backup is not None and backup.is_file() and not session_path().exists()
    assert load_prefs() == {}
    save_prefs({"theme": "calterm-light"})
    assert load_prefs() == {"theme": "calterm-light"}
