"""The session on disk: :class:`~calterm.tui.session.Session` to and from one human-readable JSON
document, saved atomically after every change (a killed terminal or a dropped SSH connection loses
nothing), and the preferences that outlive sessions (the theme, the unit system).

Every float is written with ``repr`` precision and read back bit for bit. Results are stored as data
(geometry, per-point residuals, history), not as objects, and are rebuilt into
:class:`CalibrationResult` without pyFAI. Apart from :mod:`calterm.tui.session` (the state and its
keys) so each stays one idea: what the app holds, and how it is kept.

Edits that come in streams (typing in a tool field, cursor moves) are saved 0.3 s after the last
one; :func:`flush_on_signals` makes a hangup (SIGHUP: the SSH connection or the tmux pane closed)
or a SIGTERM save that pending state synchronously before the app exits, so only SIGKILL can lose
the last keystrokes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path

from calterm.core.calibrate.model import (
    CalibrationRequest,
    CalibrationResult,
    ControlPoint,
    RingResidual,
    Verdict,
)
from calterm.core.common.geometry import Constraints, PoniGeometry
from calterm.core.common.history import History
from calterm.core.io.writer import atomic_write_text
from calterm.errors import InputError
from calterm.tui.session import FORMAT, FORMAT_VERSION, Session, json_value, session_path, state_dir
from calterm.tui.units import SYSTEMS as UNIT_SYSTEMS
from calterm.tui.units import system as unit_system

# --- to and from plain JSON -------------------------------------------------------------------


def _float(value) -> float:
    return float(value)  # accepts the 'nan'/'inf' strings written by _plain


def request_to_dict(r: CalibrationRequest) -> dict:
    out = {f.name: getattr(r, f.name) for f in fields(r)}
    out["center_xy"] = list(r.center_xy) if r.center_xy is not None else None
    out["points"] = [[p.x, p.y, p.ring] for p in r.points]
    out["constraints"] = {"fixed": sorted(r.constraints.fixed),
                          "bounds": {k: list(v) for k, v in sorted(r.constraints.bounds.items())}}
    return json_value(out)


def request_from_dict(d: dict) -> CalibrationRequest:
    known = {f.name for f in fields(CalibrationRequest)}
    kw = {k: v for k, v in d.items() if k in known}
    if kw.get("center_xy") is not None:
        kw["center_xy"] = tuple(kw["center_xy"])
    if kw.get("sensor") is not None:  # (material, thickness µm), as the request holds it
        material, thickness_um = kw["sensor"]
        kw["sensor"] = (str(material), _float(thickness_um))
    kw["points"] = tuple(ControlPoint(_float(x), _float(y), ring) for x, y, ring in d.get("points", ()))
    c = d.get("constraints") or {}
    kw["constraints"] = Constraints(
        fixed=frozenset(c.get("fixed", Constraints().fixed)),
        bounds={k: (_float(lo), _float(hi)) for k, (lo, hi) in (c.get("bounds") or {}).items()},
    )
    return CalibrationRequest(**kw)


# the last results' documents and their JSON text (a result is frozen: made once, kept)
_RESULT_DOCS: list[tuple[CalibrationResult, dict, list[str]]] = []


def _result_entry(r: CalibrationResult) -> tuple[dict, list[str]]:
    for known, doc, text in _RESULT_DOCS:
        if known is r:
            return doc, text
    doc, text = _result_doc(r), []
    _RESULT_DOCS[:] = [(r, doc, text), *_RESULT_DOCS[:1]]
    return doc, text


def result_to_dict(r: CalibrationResult) -> dict:
    """The result's document, made once per result: the session is saved on every change, and
    converting a result's ~10,000 points each time cost the event loop ~15 ms per key press."""
    return _result_entry(r)[0]


def result_json(r: CalibrationResult) -> str:
    """The result's document as JSON text, encoded once per result: encoding the demo's 9,400
    points took 20-30 ms, paid on every key press after a calibration when the session was saved.
    A job calls it in its thread (:func:`prepare_result`), so the first save after it is cheap too."""
    doc, text = _result_entry(r)
    if not text:
        text.append(_encode_in_parts(doc))
    return text[0]


def prepare_result(r: CalibrationResult) -> CalibrationResult:
    """Make the result's document and text now (in a job's thread), for the saves that follow."""
    result_json(r)
    return r


CHUNK = 1000  # list items per json.dumps call: ~1 ms of C code that holds the GIL, then a switch point


def _encode_in_parts(value) -> str:
    """``json.dumps(value)``, the same text, encoded in short calls: json's C encoder holds the GIL
    for a whole call (the demo result's point lists: 5-8 ms each, 30 ms in all), which from a job's
    thread stopped the app's event loop for as long; between short calls it can run."""
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_encode_in_parts(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and len(value) > CHUNK:
        parts = (json.dumps(value[i:i + CHUNK], allow_nan=False)[1:-1] for i in range(0, len(value), CHUNK))
        return "[" + ", ".join(parts) + "]"
    return json.dumps(value, allow_nan=False)


def _result_doc(r: CalibrationResult) -> dict:
    import numpy as np

    return json_value({
        "geometry": r.geometry.as_dict(),
        "sigma": dict(r.sigma),
        "detector_name": r.detector_name,
        "shape": list(r.shape),
        "points": {"x": np.asarray(r.cols, float).tolist(), "y": np.asarray(r.rows, float).tolist(),
                   "ring": np.asarray(r.ring, int).tolist(),
                   "residual_rad": np.asarray(r.residual_rad, float).tolist()},
        "rings": [asdict(ring) for ring in r.rings],
        "verdict": {"status": r.verdict.status, "reasons": list(r.verdict.reasons),
                    "rms_rad": r.verdict.rms_rad, "noise_floor_rad": r.verdict.noise_floor_rad},
        "history": {"columns": list(r.history.columns), "rows": [list(row) for row in r.history.rows]},
        "fit2d": dict(r.fit2d),
        "timings_s": dict(r.timings_s),
        "calibrant": r.calibrant,
        "distortion": _distortion_to_dict(r.distortion),
    })


def _distortion_to_dict(d) -> dict | None:
    """The fitted field as its definition (shape, terms, coefficients): the spline is derived from it."""
    if d is None:
        return None
    return {"shape": list(d.shape), "terms": list(d.terms), "coefficients": [float(c) for c in d.coefficients]}


def _distortion_from_dict(d: dict | None):
    if not d:
        return None  # none fitted, or a session written before results kept their distortion
    from calterm.core.calibrate.distortion import TERMS, SmoothDistortion

    terms = tuple(str(t) for t in d["terms"])
    coefficients = tuple(_float(c) for c in d["coefficients"])
    if len(terms) != len(coefficients):
        raise ValueError("distortion terms and coefficients differ in number")
    if unknown := sorted(set(terms) - set(TERMS)):
        raise ValueError(f"unknown distortion terms {', '.join(unknown)}")
    return SmoothDistortion(tuple(int(s) for s in d["shape"]), coefficients, terms)


def _history_value(v):
    # strings like 'nan' come back as floats only where the column held floats
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def result_from_dict(d: dict) -> CalibrationResult:
    import numpy as np

    pts = d["points"]
    v = d["verdict"]
    return CalibrationResult(
        geometry=PoniGeometry(**{k: _float(x) for k, x in d["geometry"].items()}),
        sigma={k: _float(x) for k, x in d["sigma"].items()},
        detector_name=d["detector_name"],
        shape=tuple(int(s) for s in d["shape"]),
        rows=np.array([_float(x) for x in pts["y"]], dtype=float),
        cols=np.array([_float(x) for x in pts["x"]], dtype=float),
        ring=np.array(pts["ring"], dtype=int),
        residual_rad=np.array([_float(x) for x in pts["residual_rad"]], dtype=float),
        rings=tuple(RingResidual(**{k: (_float(x) if isinstance(x, str) else x) for k, x in ring.items()})
                    for ring in d["rings"]),
        verdict=Verdict(v["status"], tuple(v["reasons"]), _float(v["rms_rad"]), _float(v["noise_floor_rad"])),
        history=History(tuple(d["history"]["columns"]),
                        [tuple(_history_value(x) for x in row) for row in d["history"]["rows"]]),
        fit2d={k: _float(x) for k, x in d["fit2d"].items()},
        timings_s={k: _float(x) for k, x in d["timings_s"].items()},
        calibrant=d["calibrant"],
        distortion=_distortion_from_dict(d.get("distortion")),
    )


def session_to_dict(s: Session, *, with_result: bool = True) -> dict:
    doc = json_value({
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "request": request_to_dict(s.request),
        "demo": s.demo,
        "screen": s.screen,
        "ring": s.ring,
        "auto_increment": s.auto_increment,
        "use_mask": s.use_mask,
        "cursor_xy": list(s.cursor_xy) if s.cursor_xy is not None else None,
        "zoom": s.zoom,
        "units": s.units,
        "rings_from_result": s.rings_from_result,
        "circle_points": [[p.x, p.y, p.ring] for p in s.circle_points],
        "circle_result": s.circle_result,
        "outputs": dict(s.outputs),
        "output_dir": s.output_dir,
        "tools": s.tools,
        "result_key": s.result_key,
        "points_key": s.points_key,
        "circle_key": s.circle_key,
    })
    if with_result:
        doc["result"] = result_to_dict(s.result) if s.result is not None else None  # already JSON-ready, kept
    return doc


def session_from_dict(d: dict) -> Session:
    if d.get("format") != FORMAT:
        raise InputError("not a calterm session file")
    if int(d.get("version", 0)) > FORMAT_VERSION:
        raise InputError(f"session file version {d.get('version')} is newer than this calterm understands")
    cursor = d.get("cursor_xy")
    return Session(
        request=request_from_dict(d["request"]),
        demo=bool(d.get("demo", False)),
        screen=str(d.get("screen", "parameters")),
        ring=int(d.get("ring", 1)),
        auto_increment=bool(d.get("auto_increment", False)),
        use_mask=bool(d.get("use_mask", True)),
        cursor_xy=(_float(cursor[0]), _float(cursor[1])) if cursor else None,
        zoom=bool(d.get("zoom", False)),
        units=d.get("units") if d.get("units") in UNIT_SYSTEMS else None,  # older sessions: the preference
        result=result_from_dict(d["result"]) if d.get("result") else None,
        rings_from_result=bool(d.get("rings_from_result", False)),
        circle_points=tuple(ControlPoint(_float(x), _float(y), ring) for x, y, ring in d.get("circle_points", ())),
        circle_result=d.get("circle_result"),
        outputs={str(k): str(v) for k, v in (d.get("outputs") or {}).items()},
        output_dir=str(d.get("output_dir") or ""),
        tools={str(k): v for k, v in (d.get("tools") or {}).items() if isinstance(v, dict)},
        result_key=d.get("result_key"),
        points_key=d.get("points_key"),
        circle_key=d.get("circle_key"),
    )


def dumps(s: Session) -> str:
    """The session as JSON: the same text as ``json.dumps(session_to_dict(s))``, with the result's
    part (nearly all of it) spliced in from :func:`result_json` instead of encoded again."""
    doc = session_to_dict(s, with_result=False)
    # compact: json's C encoder (an indent falls back to the pure-Python one, 2x slower on a result)
    head = json.dumps(doc, allow_nan=False)
    result = result_json(s.result) if s.result is not None else "null"
    return f'{head[:-1]}, "result": {result}}}\n'


def loads(text: str) -> Session:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"session file is not valid JSON ({exc})") from exc
    try:
        return session_from_dict(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"session file is damaged ({type(exc).__name__}: {exc})") from exc


def save_session(s: Session, path: str | os.PathLike | None = None) -> Path:
    """Write atomically: a kill at any moment leaves either the old or the new document."""
    target = Path(path) if path is not None else session_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(target, dumps(s))


def load_session(path: str | os.PathLike | None = None) -> Session:
    target = Path(path) if path is not None else session_path()
    if not target.is_file():
        raise InputError(f"no session to resume ({target} does not exist)")
    return loads(target.read_text(encoding="utf-8"))


def keep_previous(path: str | os.PathLike | None = None) -> Path | None:
    """Before a new session replaces the last one, keep it as ``session.previous.json``."""
    target = Path(path) if path is not None else session_path()
    if not target.is_file():
        return None
    backup = target.with_name(target.stem + ".previous" + target.suffix)
    os.replace(target, backup)
    return backup


# --- preferences that outlive sessions (the theme, the unit system) --------------------------


def load_prefs() -> dict:
    path = state_dir() / "prefs.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def save_prefs(prefs: dict) -> None:
    path = state_dir() / "prefs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(json_value(prefs), indent=1, sort_keys=True) + "\n")


def preferred_units() -> str:
    """The unit system a new session starts in: the last one chosen (``u``), else mm."""
    return unit_system(load_prefs().get("units"))


def remember_units(units: str) -> None:
    """Keep the chosen unit system for the sessions to come (a failed write is not worth an error)."""
    prefs = load_prefs()
    prefs["units"] = unit_system(units)
    with contextlib.suppress(OSError):
        save_prefs(prefs)
# --- a hangup or a kill request saves first ---------------------------------------------------

FLUSH_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
EXIT_GRACE_S = 3.0  # after the save, how long a clean exit may take on a dead terminal


def flush_on_signals(flush: Callable[[], None], stop: Callable[[int], None],
                     signals: tuple[signal.Signals, ...] = FLUSH_SIGNALS) -> bool:
    """On each of ``signals``: ``flush()`` (save the session now), then ``stop(128 + signum)``.

    The handlers run on the running asyncio loop (``loop.add_signal_handler``), i.e. between two
    event handlers of the app, never in the middle of an edit. The save comes first and is
    synchronous; the exit may need the terminal, which a hangup took away, so the process ends by
    itself ``EXIT_GRACE_S`` later if the clean exit does not finish. False when no handler could be
    installed (no running loop, or not the main thread: the app runs inside a test harness)."""
    try:
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, _flush_and_stop, int(sig), flush, stop)
    except (RuntimeError, ValueError, NotImplementedError):
        return False
    return True


def _flush_and_stop(signum: int, flush: Callable[[], None], stop: Callable[[int], None]) -> None:
    code = 128 + signum
    try:
        flush()
    finally:
        timer = threading.Timer(EXIT_GRACE_S, os._exit, (code,))
        timer.daemon = True
        timer.start()
        with contextlib.suppress(Exception):
            stop(code)
