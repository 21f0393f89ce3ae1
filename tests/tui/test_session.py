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
from calterm.tui.session import Session, session_path
from calterm.tui.session_file import keep_previous, load_prefs, load_session, save_prefs, save_session


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


def test_the_saved_text_is_the_whole_document_encoded_with_the_result_spliced_in_once():
    """A save re-used the result's encoded text (it is nearly all of the document): the text must be
    what encoding the whole document gives, with and without a result, and stay so when a later save
    changes everything but the result."""
    from dataclasses import replace

    from calterm.tui.session_file import dumps, result_json, session_to_dict

    s = _session()
    assert dumps(s) == json.dumps(session_to_dict(s), allow_nan=False) + "\n"
    assert result_json(s.result) is result_json(s.result)  # encoded once
    assert result_json(s.result) == json.dumps(session_to_dict(s)["result"], allow_nan=False)
    later = replace(s, ring=7, cursor_xy=(1.0, 2.0))
    assert dumps(later) == json.dumps(session_to_dict(later), allow_nan=False) + "\n"
    assert json.loads(dumps(later))["ring"] == 7
    empty = replace(s, result=None)
    assert dumps(empty) == json.dumps(session_to_dict(empty), allow_nan=False) + "\n"
    assert json.loads(dumps(empty))["result"] is None


def test_a_result_with_long_lists_is_encoded_in_parts_to_the_same_text(monkeypatch):
    """The encoder's short calls (lists cut at CHUNK items) give json.dumps's text exactly."""
    from calterm.tui import session_file

    monkeypatch.setattr(session_file, "CHUNK", 3)  # the demo's 9,400 points at 1000 a call, in small
    doc = {"a": list(range(10)), "b": {"c": [0.1 * i for i in range(7)], "d": [], "e": [[1, 2]] * 5},
           "f": "x", "g": None, "h": [1, 2, 3]}
    assert session_file._encode_in_parts(doc) == json.dumps(doc, allow_nan=False)


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


# --- keys: what each result came from ------------------------------------------------------------


def _on_disk(tmp_path) -> Session:
    from calterm.tui.session import image_key, request_key

    image = tmp_path / "a.tif"
    image.write_bytes(b"\0" * 64)
    s = _session()
    s.request = s.request.__class__(**{**s.request.__dict__, "image_path": str(image), "mask_path": None})
    s.set_result(s.result, request_key(s.effective_request()))
    s.points_key = s.circle_key = image_key(s.request)
    return s


def test_keys_survive_save_and_load_and_a_fresh_key_matches(tmp_path):
    s = _on_disk(tmp_path)
    back = load_session(save_session(s, tmp_path / "s.json"))
    assert back.result_key == s.result_key == back.request_key()
    assert back.points_key == back.image_key() and back.circle_key == back.image_key()
    assert back.drop_stale() == [] and back.result is not None and back.circle_result is not None


def test_drop_stale_names_what_changed_and_keeps_what_does_not_depend_on_it(tmp_path):
    from dataclasses import replace

    s = _on_disk(tmp_path)
    s.request = replace(s.request, distance_mm=150.0, center_xy=(1.0, 2.0))  # start values: kept
    assert s.drop_stale() == [] and s.result is not None
    s.request = replace(s.request, wavelength_m=0.5e-10)
    notes = s.drop_stale()
    assert notes == ["calibration dropped: it was made for a.tif (wavelength_m changed); press c to calibrate"]
    assert s.result is None and s.result_key is None and not s.rings_from_result
    assert len(s.request.points) == 2 and s.circle_result is not None  # pixels did not move
    s.request = replace(s.request, flip=None)
    notes = s.drop_stale()
    assert notes == ["2 ring points and 1 circle points cleared: they were placed on a.tif (flip changed)",
                     "circle fit dropped: it was made on a.tif (flip changed)"]
    assert s.request.points == () and s.circle_points == () and s.cursor_xy is None and s.circle_result is None
    assert s.drop_stale() == []


def test_a_tool_report_is_dropped_when_an_input_it_read_changes(tmp_path):
    from calterm.tui.session import tool_key

    frames = tmp_path / "dark.edf"
    frames.write_bytes(b"1")
    s = _on_disk(tmp_path)
    s.tools["dark"] = {"inputs": {"frames": str(frames), "threshold": "5", "average": "avg.edf"},
                       "report": {"frames_used": 3}}
    s.tools["dark"]["key"] = tool_key({"frames": str(frames), "threshold": "5"})
    s.tools["dark"]["inputs"]["average"] = "other.edf"  # an output path: the report stands
    assert s.drop_stale() == [] and s.tools["dark"]["report"] == {"frames_used": 3}
    st = frames.stat()
    os.utime(frames, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the frames file was rewritten
    assert s.drop_stale() == ["dark report dropped: its inputs changed; run it again"]
    assert "report" not in s.tools["dark"] and "key" not in s.tools["dark"]


def test_no_ui_state_in_the_core():
    """Screen, cursor, zoom and theme live in tui.session; no core module names them."""
    import ast
    from pathlib import Path

    import calterm.core

    ui_names = {"cursor_xy", "cursor", "zoom", "theme", "screen", "current_mode", "auto_increment"}
    found = []
    for path in Path(calterm.core.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = (node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
                    else node.arg if isinstance(node, ast.arg) else None)
            if name in ui_names:
                found.append(f"{path.name}:{node.lineno} {name}")
    assert found == []
