"""The unit system is kept: in the session document (``--resume`` reopens it as it was) and in the
preferences (a new session starts in the last one chosen); anything unreadable is the default."""

from __future__ import annotations

import json

from calterm.core.calibrate.model import CalibrationRequest
from calterm.tui.session import Session, state_dir
from calterm.tui.session_file import dumps, loads, preferred_units, remember_units


def _session(units=None) -> Session:
    s = Session(request=CalibrationRequest(image_path="/data/lab6.tif", calibrant="LaB6", wavelength_m=0.3344e-10))
    s.units = units
    return s


def test_the_session_document_keeps_the_unit_system():
    assert loads(dumps(_session("poni"))).units == "poni"
    assert loads(dumps(_session("mm"))).units == "mm"
    doc = json.loads(dumps(_session("poni")))
    del doc["units"]  # a session saved before the toggle existed: the preference decides
    assert loads(json.dumps(doc)).units is None
    doc["units"] = "furlongs"
    assert loads(json.dumps(doc)).units is None


def test_the_preference_outlives_sessions():
    assert preferred_units() == "mm"  # nothing chosen yet
    remember_units("poni")
    assert preferred_units() == "poni"
    assert json.loads((state_dir() / "prefs.json").read_text())["units"] == "poni"
    (state_dir() / "prefs.json").write_text('{"units": 3}')
    assert preferred_units() == "mm"
