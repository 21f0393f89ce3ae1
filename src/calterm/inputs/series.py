"""``calterm series``'s inputs from what the user typed: the images (a glob, sorted naturally so
``img_10`` follows ``img_9``) or a folder to watch, the first image's calibration request (through
:func:`calterm.inputs.calibrate.calibration_request`, the one builder), the jump thresholds and the
table's path (checked before any work)."""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from pathlib import Path

from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.series.run import SeriesOptions
from calterm.errors import InputError
from calterm.inputs.calibrate import calibration_request
from calterm.inputs.values import field_text, output_path, parse_number, parse_words


def _natural(path: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def series_paths(patterns) -> list[str]:
    """Every file the globs (or plain paths) name, sorted naturally, each once."""
    words = parse_words(patterns)
    found: list[str] = []
    for word in words:
        matches = [p for p in glob.glob(str(Path(word).expanduser())) if Path(p).is_file()]
        if not matches:
            raise InputError(f"IMAGES: {word}: no such file")
        found.extend(matches)
    if not found:
        raise InputError("IMAGES: give images (a glob such as 'run/*.tif') or --watch DIR")
    return sorted(set(found), key=_natural)


def watch_folder(text) -> Path:
    folder = Path(field_text(text)).expanduser()
    if not folder.is_dir():
        raise InputError(f"--watch: {folder}: no such folder")
    return folder


def series_options(fields: Mapping[str, object]) -> SeriesOptions:
    return SeriesOptions(
        jump_mm=parse_number(fields.get("jump_mm"), "--jump-mm", positive=True, default=0.1),
        jump_px=parse_number(fields.get("jump_px"), "--jump-px", positive=True, default=1.0),
        fast=not fields.get("full"))


def first_request(fields: Mapping[str, object], first_image: str | None) -> CalibrationRequest:
    """The calibration request of the series' first image (each next image replaces its path).
    A watched folder has no image yet: its request is built without one, so the wavelength must
    be typed (no header to read it from)."""
    if first_image is not None:
        return calibration_request({**fields, "image": first_image})
    if not field_text(fields.get("wavelength")) and not field_text(fields.get("energy")):
        raise InputError("--watch: give --wavelength or --energy (no image header to read it from yet)")
    if not field_text(fields.get("calibrant")):
        raise InputError("--calibrant: a calibrant name or .D file is needed")
    return calibration_request(fields, base=CalibrationRequest("", "", 1e-10))


def table_path(text) -> Path | None:
    value = field_text(text)
    if not value:
        return None
    kind = "json" if value.endswith(".json") else "csv"
    return output_path(value, kind)
