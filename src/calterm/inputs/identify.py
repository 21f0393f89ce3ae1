"""``calterm identify``'s request from what the user typed: one :class:`InputError` line naming
the field, like :mod:`calterm.inputs.calibrate` (whose field names it shares)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from calterm.core.calibrate.identify_image import IdentifyRequest
from calterm.errors import InputError
from calterm.inputs.values import field_text, parse_number, parse_wavelength, parse_xy

MAX_TOP = 100


def _existing(text: object, label: str) -> str:
    path = str(Path(str(text)).expanduser())
    head = path.partition("::")[0]
    if not Path(head).is_file():
        raise InputError(f"{label}: {head}: no such file")
    return path


def identify_request(fields: Mapping[str, object]) -> IdentifyRequest:
    """Keys: image, wavelength, energy, frame, detector, pixel_size, mask, calibrant_file (a list), top, center."""
    image = _existing(fields.get("image"), "image")
    wavelength_m = parse_wavelength(fields.get("wavelength"), fields.get("energy"),
                                    names=("--wavelength", "--energy"))
    frame = parse_number(fields.get("frame"), "--frame", integer=True, default=0)
    if frame < 0:
        raise InputError(f"--frame must be 0 or more, not {frame}")
    pixel = parse_number(fields.get("pixel_size"), "--pixel-size", optional=True, positive=True)
    top = parse_number(fields.get("top"), "--top", integer=True, default=5)
    if not 1 <= top <= MAX_TOP:
        raise InputError(f"--top must be between 1 and {MAX_TOP}, not {top}")
    mask = _existing(fields["mask"], "--mask") if field_text(fields.get("mask")) else None
    files = tuple(_existing(f, "--calibrant-file") for f in (fields.get("calibrant_file") or ()))
    detector = field_text(fields.get("detector")) or None
    center = parse_xy(field_text(fields.get("center"))) if field_text(fields.get("center")) else None
    return IdentifyRequest(image, wavelength_m, frame=frame, detector=detector, pixel_size_um=pixel, mask_path=mask,
                           calibrant_files=files, top=top, center_xy=center)
