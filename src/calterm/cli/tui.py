"""``calterm tui [IMAGE] [--resume]``: open the terminal app.

``calterm`` alone, ``calterm IMAGE`` and ``calterm --resume`` arrive here (see ``calterm.cli``).
Without an image the app opens on the built-in LaB6 demo with its start values filled in. A new
session keeps the previous one as ``session.previous.json`` before replacing it. Textual is
imported only here, after the arguments are checked, and pyFAI only when a screen needs it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calterm.cli.common import add_image_options, add_wavelength_options


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("tui", help="open the terminal app (default command)",
                       description="Open the terminal app: calibrate from the keyboard at 80x24, over SSH.")
    p.add_argument("image", nargs="?", help="calibration image (default: the built-in LaB6 demo)")
    p.add_argument("--resume", action="store_true", help="reopen the last session exactly as it was left")
    p.add_argument("--session", metavar="FILE", help="session file (default: $CALTERM_HOME/session.json)")
    p.add_argument("--calibrant", help="calibrant name or d-spacing file (default LaB6)")
    add_wavelength_options(p)
    p.add_argument("--distance", metavar="MM", help="start distance in mm")
    p.add_argument("--center", metavar="X,Y", help="start beam centre in pixels (x = column, y = row)")
    p.add_argument("--theme", help="theme name (default: the last chosen, else calterm-dark)")
    p.add_argument("--image-mode", choices=("auto", "graphics", "halfblock", "braille"),
                   help="how the image is drawn: terminal graphics (Kitty/Sixel), colour half-blocks or braille "
                        "(default: $CALTERM_IMAGE_MODE, else auto: the best this terminal shows; m cycles)")
    p.add_argument("--output-dir", metavar="DIR",
                   help="folder for the files the app writes (default: the image's folder; shown in the top line)")
    add_image_options(p)
    return p


def build_session(args):
    """The session to open: resumed, on the given image, or the demo (request filled in later)."""
    from calterm.core.calibrate.model import CalibrationRequest
    from calterm.inputs.calibrate import calibration_request
    from calterm.inputs.values import FieldError
    from calterm.tui.session import Session
    from calterm.tui.session_file import keep_previous, load_session

    path = Path(args.session).expanduser() if args.session else None
    if args.resume:
        session = load_session(path)
        if args.output_dir:
            session.output_dir = _output_dir(args.output_dir)
        return session, path, False
    if args.image:
        given = args.wavelength is not None or args.energy is not None
        fields = {key: getattr(args, key) for key in ("image", "frame", "rotate", "flip", "detector", "pixel_size",
                                                      "mask", "distance", "center")}
        fields = {**fields, "calibrant": args.calibrant or "LaB6"}
        if given:
            request = calibration_request({**fields, "wavelength": args.wavelength, "energy": args.energy})
        else:
            try:  # the image header's wavelength, when it has one (from_header says so on screen)
                request = calibration_request(fields)
            except FieldError as exc:
                if exc.field != "wavelength":
                    raise
                request = calibration_request({**fields, "wavelength": 1.0})  # 1 Å until the user types one
        session, demo = Session(request=request), False
    else:
        request = CalibrationRequest(image_path="", calibrant="LaB6", wavelength_m=0.3344e-10)
        session, demo = Session(request=request, demo=True), True
    if args.output_dir:
        session.output_dir = _output_dir(args.output_dir)
    keep_previous(path)
    return session, path, demo


def _output_dir(text: str) -> str:
    """The typed output folder, absolute; bad input is one line (exit 2) before the app starts."""
    from calterm.errors import InputError

    folder = Path(text).expanduser().absolute()
    if not folder.is_dir():
        raise InputError(f"--output-dir {text}: no such folder")
    return str(folder)


def run(args) -> int:
    session, path, demo = build_session(args)
    from calterm.tui.app import CaltermApp
    from calterm.tui.widgets import image_modes

    if args.image_mode:
        image_modes.set_mode(args.image_mode)
    if image_modes.chosen_mode() in ("auto", "graphics"):
        image_modes.detect_graphics()  # one round trip, answered before Textual reads the input
    app = CaltermApp(session, session_file=path, prepare_demo=demo, theme=args.theme)
    app.run()
    app.flush()  # a debounced save still pending when the app ended (ctrl+q right after typing)
    return int(app.return_code or 0)
