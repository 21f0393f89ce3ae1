"""The whole working state of an interactive calibration: inputs, results and where the user was.

The terminal app holds one :class:`Session` and saves it after every change
(:mod:`calterm.tui.session_file`: the JSON document, ``calterm --resume``, the preferences). It lives
in ``$CALTERM_HOME`` (default ``$XDG_STATE_HOME/calterm``, i.e. ``~/.local/state/calterm``).

State that cannot go stale: every result records the inputs it came from, as a plain JSON *key*
(:func:`request_key` for a calibration, :func:`image_key` for what is placed on the pixels: control
points, circle points, the cursor, the circle fit; :func:`tool_key` for a tool screen's report).
A key holds the image file's size and modification time, so a file rewritten on disk counts as
another image. :meth:`Session.drop_stale` compares every key with the current inputs and drops
what no longer belongs to them, saying what it dropped; the app calls it on every change and
before a resumed session is shown, so neither the screens nor ``--resume`` can show a result of
another image or of other inputs.

Where outputs go: every path the app writes (PONI, histories, masks, darks, gain maps, CSV) is built
by :meth:`Session.output_path`. A name or relative path lands in :meth:`Session.output_folder`: the
output folder the user chose (``calterm --output-dir DIR`` or the "Choose output folder" command),
else the image's own folder, else (the demo, or a read-only data folder) ``$CALTERM_HOME/outputs``;
never the working directory the app happened to start in. The session bar shows that folder.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from calterm.core.calibrate.model import (
    CalibrationRequest,
    CalibrationResult,
    ControlPoint,
)

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


def json_value(value):
    """Numpy scalars to Python numbers, non-finite floats to strings JSON can carry."""
    # numpy not imported (the first screen shows before it), or half-imported by a worker thread right
    # now: there is no numpy scalar yet
    generic = getattr(sys.modules.get("numpy"), "generic", None)
    if generic is not None and isinstance(value, generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf': read back by float()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


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
    return json_value({"image": file_stamp(request.image_path), "frame": request.frame, "rotate": request.rotate,
                   "flip": request.flip})


def request_key(request: CalibrationRequest) -> dict:
    """The inputs a calibration of ``request`` depends on (pass the effective request: its mask is
    the one used). Start values, points and fit options are how a result was reached, not what it
    describes, so changing them keeps the result (press c to recalibrate with them)."""
    calibrant = file_stamp(request.calibrant) if request.calibrant.lower().endswith(".d") else request.calibrant
    key = {**image_key(request), "detector": request.detector, "pixel_size_um": request.pixel_size_um,
           "calibrant": calibrant, "wavelength_m": request.wavelength_m, "mask": file_stamp(request.mask_path)}
    # the detector model is part of what a result describes; only when given, so that the keys of
    # results saved before it was (none given) still match
    if request.spline_path:
        key["spline"] = file_stamp(request.spline_path)
    if request.sensor:
        key["sensor"] = list(request.sensor)
    return json_value(key)


def tool_key(inputs: dict) -> dict:
    """The typed inputs a tool screen's report came from, with the version on disk of every one
    that names a file. A screen stores it as ``tools[MODE]["key"]`` beside the report, over only the
    inputs the computation reads (from ``tools[MODE]["inputs"]``; not, say, output paths): the
    report is dropped when one of those changes (:meth:`Session.drop_stale`)."""
    stamps = [file_stamp(v) for v in inputs.values() if isinstance(v, str) and v]
    return json_value({"inputs": dict(sorted(inputs.items())), "files": [s for s in stamps if s and len(s) == 3]})


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
    # the unit system every screen shows and reads (calterm.tui.units: "mm" or "poni"); None until the
    # app sets the user's preference (a new session) or a resumed session brings its own
    units: str | None = None
    result: CalibrationResult | None = None
    rings_from_result: bool = False  # predicted rings follow the result until a start value changes
    circle_points: tuple[ControlPoint, ...] = ()
    circle_result: dict | None = None  # the circle fit's JSON summary, as the core returns it
    outputs: dict[str, str] = field(default_factory=dict)  # last paths written: poni, history, ...
    output_dir: str = ""  # the output folder the user chose ("": next to the image; see output_folder)
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

    def cursor_or_start(self, shape: tuple[int, ...] | None) -> tuple[float, float] | None:
        """The cursor, else where it starts: the typed centre, else the middle of an image of
        ``shape`` (None: no image yet). The start is not stored in ``cursor_xy``: only a cursor the
        user moved or placed seeds the single-ring search (taken as one, the start made it fit a
        "ring" through the beam centre guess: r≈27 px, RMS 4.8 px on the demo)."""
        if self.cursor_xy is not None:
            return self.cursor_xy
        if self.request.center_xy is not None:
            return (float(self.request.center_xy[0]), float(self.request.center_xy[1]))
        if shape is None:
            return None
        return ((shape[1] - 1) / 2, (shape[0] - 1) / 2)

    def output_folder(self) -> Path:
        """The folder outputs go to: the chosen one, else the image's (when writable and not the
        demo's), else ``$CALTERM_HOME/outputs``. Never the working directory."""
        if self.output_dir:
            return Path(self.output_dir).expanduser().absolute()
        if self.request.image_path and not self.demo:  # the demo's image lives in a cache
            folder = Path(self.request.image_path.split("::", 1)[0]).expanduser().absolute().parent
            if os.access(folder, os.W_OK | os.X_OK):
                return folder
        fallback = state_dir() / "outputs"
        with contextlib.suppress(OSError):  # a write there says why it cannot, in one line
            fallback.mkdir(parents=True, exist_ok=True)
        return fallback

    def output_path(self, name: str | os.PathLike) -> str:
        """The path an output named ``name`` is written to: an absolute or ``~`` path as given, a
        name or relative path inside :meth:`output_folder`; "" stays "" (nothing to write)."""
        text = str(name).strip()
        if not text:
            return ""
        path = Path(text).expanduser()
        return str(path if path.is_absolute() else self.output_folder() / path)

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
