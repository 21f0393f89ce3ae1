"""The whole working state of an interactive calibration as one human-readable JSON document.

The terminal app holds one :class:`Session` and saves it atomically after every change, so a
killed terminal or a dropped SSH connection loses nothing and ``calterm --resume`` reopens it
exactly: every float is written with ``repr`` precision and read back bit for bit. The file lives
in ``$CALTERM_HOME`` (default ``$XDG_STATE_HOME/calterm``, i.e. ``~/.local/state/calterm``), next to
``prefs.json`` (the chosen theme), which outlives sessions.

Results are stored as data (geometry, per-point residuals, history), not as objects, and are
rebuilt into :class:`CalibrationResult` without pyFAI; the pyFAI detector is resolved again only
when a computation needs it.

State that cannot go stale: every result records the inputs it came from, as a plain JSON *key*
(:func:`request_key` for a calibration, :func:`image_key` for what is placed on the pixels: control
points, circle points, the cursor, the circle fit; :func:`tool_key` for a tool screen's report).
A key holds the image file's size and modification time, so a file rewritten on disk counts as
another image. :meth:`Session.drop_stale` compares every key with the current inputs and drops
what no longer belongs to them, saying what it dropped; the app calls it on every change and
before a resumed session is shown, so neither the screens nor ``--resume`` can show a result of
another image or of other inputs.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from calterm.core.calibrate.model import (
    CalibrationRequest,
    CalibrationResult,
    ControlPoint,
    RingResidual,
    Verdict,
)
from calterm.core.common.geometry import Constraints, PoniGeometry
from calterm.core.common.history import History
from calterm.core.io.versions import atomic_write_text
from calterm.errors import InputError

FORMAT = "calterm-session"
FORMAT_VERSION = 2  # 2: results carry the key of their inputs (a version-1 result is dropped on resume)


def state_dir() -> Path:
    """Where sessions and preferences live (created on first save)."""
    if os.environ.get("CALTERM_HOME"):
        return Path(os.environ["CALTERM_HOME"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "calterm"


def session_path() -> Path:
    return state_dir() / "session.json"


# --- the inputs a result came from ---------------------------------------------------------------


def file_stamp(path: str | os.PathLike | None) -> list | None:
    """[absolute path, size, mtime in ns] of a file, [path] when it is missing, None for no path."""
    if not path:
        return None
    target = Path(path).expanduser().absolute()
    try:
        st = target.stat()
    except (OSError, ValueError):
        return [str(target)]
    return [str(target), st.st_size, st.st_mtime_ns]


def image_key(request: CalibrationRequest) -> dict:
    """What pixel positions refer to: the image file (and its version on disk), frame, rotate, flip."""
    return _plain({"image": file_stamp(request.image_path), "frame": request.frame, "rotate": request.rotate,
                   "flip": request.flip})


def request_key(request: CalibrationRequest) -> dict:
    """The inputs a calibration of ``request`` depends on (pass the effective request: its mask is
    the one used). Start values, points and fit options are how a result was reached, not what it
    describes, so changing them keeps the result (press c to recalibrate with them)."""
    calibrant = file_stamp(request.calibrant) if request.calibrant.lower().endswith(".d") else request.calibrant
    return _plain({**image_key(request), "detector": request.detector, "pixel_size_um": request.pixel_size_um,
                   "calibrant": calibrant, "wavelength_m": request.wavelength_m,
                   "mask": file_stamp(request.mask_path)})


def tool_key(inputs: dict) -> dict:
    """The typed inputs a tool screen's report came from, with the version on disk of every one
    that names a file. A screen stores it as ``tools[MODE]["key"]`` beside the report, over only the
    inputs the computation reads (from ``tools[MODE]["inputs"]``; not, say, output paths): the
    report is dropped when one of those changes (:meth:`Session.drop_stale`)."""
    stamps = [file_stamp(v) for v in inputs.values() if isinstance(v, str) and v]
    return _plain({"inputs": dict(sorted(inputs.items())), "files": [s for s in stamps if s and len(s) == 3]})


def _changed(old: dict | None, new: dict) -> str:
    """Which inputs differ between two keys, in words ("image, wavelength_m")."""
    if not old:
        return "saved without the inputs it came from"
    names = [k for k in new if old.get(k) != new.get(k)]
    return ", ".join(names) + " changed" if names else "its inputs changed"


def _name(key: dict | None) -> str:
    stamp = (key or {}).get("image")
    return Path(stamp[0]).name if stamp else "no image"


@dataclass
class Session:
    """Inputs, points, constraints, results and where the user was; one per working calibration.

    Mutable on purpose: the app replaces fields as the user edits, then saves the whole document.
    ``request`` is the frozen :class:`CalibrationRequest` the calibrate key sends to the core.
    """

    request: CalibrationRequest
    demo: bool = False
    screen: str = "parameters"
    ring: int = 1  # ring number given to the next point
    auto_increment: bool = False  # next ring after each added point (Dioptas' "automatic increase")
    use_mask: bool = True
    cursor_xy: tuple[float, float] | None = None
    zoom: bool = False
    result: CalibrationResult | None = None
    rings_from_result: bool = False  # predicted rings follow the result until a start value changes
    circle_points: tuple[ControlPoint, ...] = ()
    circle_result: dict | None = None  # the circle fit's JSON summary, as the core returns it
    outputs: dict[str, str] = field(default_factory=dict)  # last paths written: poni, history, ...
    # per tool screen (dark, mask, align, gain, results): what the user typed ("inputs") and the last
    # report, as plain JSON the screen defines; restored as typed
    tools: dict[str, dict] = field(default_factory=dict)
    # the keys of the inputs each result came from (see request_key, image_key)
    result_key: dict | None = None
    points_key: dict | None = None  # the image the points, circle points and cursor are placed on
    circle_key: dict | None = None
    # field id -> why its text is refused (one line); while any is set the calibration does not start.
    # Not saved: a resumed session refills the fields from the request, all valid.
    invalid_fields: dict[str, str] = field(default_factory=dict)

    def effective_request(self) -> CalibrationRequest:
        """The request as the core should see it (the mask only when "use mask" is on)."""
        from dataclasses import replace

        return self.request if self.use_mask else replace(self.request, mask_path=None)

    def request_key(self) -> dict:
        """The key a calibration started now would carry."""
        return request_key(self.effective_request())

    def image_key(self) -> dict:
        return image_key(self.request)

    def set_result(self, result: CalibrationResult, key: dict | None) -> None:
        """A calibration arrived; ``key`` is the request_key it was started with."""
        self.result, self.result_key, self.rings_from_result = result, key, True

    def set_circle_result(self, doc: dict, key: dict | None) -> None:
        """A circle fit arrived; ``key`` is the image_key it was started with."""
        self.circle_result, self.circle_key = doc, key

    def drop_stale(self) -> list[str]:
        """Drop every result whose inputs are no longer the current ones; one line per drop.

        Cheap (two ``stat`` calls), so the app calls it on every change."""
        from dataclasses import replace

        notes: list[str] = []
        pixels = self.image_key()
        if self.points_key is None:
            self.points_key = pixels  # a version-1 session or a new one: the points are on this image
        elif self.points_key != pixels:
            lost = [f"{n} {what}" for n, what in ((len(self.request.points), "ring points"),
                                                 (len(self.circle_points), "circle points")) if n]
            if lost:
                notes.append(f"{' and '.join(lost)} cleared: they were placed on {_name(self.points_key)} "
                             f"({_changed(self.points_key, pixels)})")
            self.request = replace(self.request, points=())
            self.circle_points, self.cursor_xy, self.points_key = (), None, pixels
        if self.circle_result is not None and self.circle_key != pixels:
            notes.append(f"circle fit dropped: it was made on {_name(self.circle_key)} "
                         f"({_changed(self.circle_key, pixels)})")
            self.circle_result, self.circle_key = None, None
        if self.result is not None:
            now = self.request_key()
            if self.result_key != now:
                notes.append(f"calibration dropped: it was made for {_name(self.result_key)} "
                             f"({_changed(self.result_key, now)}); press c to calibrate")
                self.result, self.result_key, self.rings_from_result = None, None, False
        for mode, state in self.tools.items():
            key, typed = state.get("key"), state.get("inputs", {})
            if (state.get("report") is not None and isinstance(key, dict)
                    and key != tool_key({name: typed.get(name) for name in key.get("inputs", {})})):
                notes.append(f"{mode} report dropped: its inputs changed; run it again")
                del state["report"], state["key"]
        return notes


# --- to and from plain JSON -------------------------------------------------------------------


def _plain(value):
    """Numpy scalars to Python numbers, non-finite floats to strings JSON can carry."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf': read back by float()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _float(value) -> float:
    return float(value)  # accepts the 'nan'/'inf' strings written by _plain


def request_to_dict(r: CalibrationRequest) -> dict:
    out = {f.name: getattr(r, f.name) for f in fields(r)}
    out["center_xy"] = list(r.center_xy) if r.center_xy is not None else None
    out["points"] = [[p.x, p.y, p.ring] for p in r.points]
    out["constraints"] = {"fixed": sorted(r.constraints.fixed),
                          "bounds": {k: list(v) for k, v in sorted(r.constraints.bounds.items())}}
    return _plain(out)


def request_from_dict(d: dict) -> CalibrationRequest:
    known = {f.name for f in fields(CalibrationRequest)}
    kw = {k: v for k, v in d.items() if k in known}
    if kw.get("center_xy") is not None:
        kw["center_xy"] = tuple(kw["center_xy"])
    kw["points"] = tuple(ControlPoint(_float(x), _float(y), ring) for x, y, ring in d.get("points", ()))
    c = d.get("constraints") or {}
    kw["constraints"] = Constraints(
        fixed=frozenset(c.get("fixed", Constraints().fixed)),
        bounds={k: (_float(lo), _float(hi)) for k, (lo, hi) in (c.get("bounds") or {}).items()},
    )
    return CalibrationRequest(**kw)


def result_to_dict(r: CalibrationResult) -> dict:
    return _plain({
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
    })


def _history_value(v):
    # strings like 'nan' come back as floats only where the column held floats
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def result_from_dict(d: dict) -> CalibrationResult:
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
    )


def session_to_dict(s: Session) -> dict:
    return _plain({
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
        "result": result_to_dict(s.result) if s.result is not None else None,
        "rings_from_result": s.rings_from_result,
        "circle_points": [[p.x, p.y, p.ring] for p in s.circle_points],
        "circle_result": s.circle_result,
        "outputs": dict(s.outputs),
        "tools": s.tools,
        "result_key": s.result_key,
        "points_key": s.points_key,
        "circle_key": s.circle_key,
    })


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
        result=result_from_dict(d["result"]) if d.get("result") else None,
        rings_from_result=bool(d.get("rings_from_result", False)),
        circle_points=tuple(ControlPoint(_float(x), _float(y), ring) for x, y, ring in d.get("circle_points", ())),
        circle_result=d.get("circle_result"),
        outputs={str(k): str(v) for k, v in (d.get("outputs") or {}).items()},
        tools={str(k): v for k, v in (d.get("tools") or {}).items() if isinstance(v, dict)},
        result_key=d.get("result_key"),
        points_key=d.get("points_key"),
        circle_key=d.get("circle_key"),
    )


def dumps(s: Session) -> str:
    return json.dumps(session_to_dict(s), indent=1, allow_nan=False) + "\n"


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


# --- preferences that outlive sessions (the theme) -------------------------------------------


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
    atomic_write_text(path, json.dumps(_plain(prefs), indent=1, sort_keys=True) + "\n")
