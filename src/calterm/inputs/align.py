"""The panel-alignment request (``calterm align``, the app's align screen) from what the user typed.

Both faces hand their text here and get the same frozen :class:`AlignRequest` or the same one-line
:class:`InputError` naming the field (``name(key)``: ``--poni`` on the command line, the label on the
screen). Every output path is checked before the image is read: the corrected image (image
formats), the offsets (``.json``) and the CrystFEL geometry (``.geom``; the one writer has no
``.geom`` kind, so its suffix is checked here and the target with the writer's own checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calterm.errors import InputError
from calterm.inputs.health import FieldName, Typed, cli_name, distinct, named, output_file
from calterm.inputs.values import parse_number, parse_xy

if TYPE_CHECKING:
    from calterm.core.health.alignment import AlignSources


@dataclass(frozen=True)
class AlignRequest:
    sources: AlignSources
    corrected: Path | None = None  # the image with every panel moved back
    offsets: Path | None = None  # the shifts as a JSON geometry file
    geom: Path | None = None  # the per-panel geometry as a CrystFEL .geom file


def _path(text: Typed) -> str | None:
    text = "" if text is None else str(text).strip()
    return str(Path(text).expanduser()) if text else None


def align_request(*, image: Typed, center: Typed = None, panels: Typed = "quadrants", mask: Typed = None,
                  frame: Typed = 0, search: Typed = 20.0, poni: Typed = None, calibrant: Typed = None,
                  wavelength: Typed = None, rotations: bool = False, anisotropy: bool = False, corrected: Typed = None,
                  offsets: Typed = None, geom: Typed = None, name: FieldName = cli_name,
                  calibrated: bool = False) -> AlignRequest:
    """The request; the centre may be left out when a PONI file gives it, a calibrant needs the PONI
    (or, in the app, ``calibrated``: a calibration result the screen hands to the core itself)."""
    from calterm.core.health.alignment import AlignSources

    image_path = _path(image)
    if image_path is None:
        raise InputError(f"{name('image')}: give a powder image")
    poni_path = _path(poni)
    if poni_path is not None and not Path(poni_path).is_file():
        raise InputError(f"{name('poni')}: {poni_path}: no such PONI file")
    center_text = "" if center is None else str(center).strip()
    if not center_text and poni_path is None and not calibrated:
        raise InputError(f"{name('center')}: give the beam centre X,Y (or a PONI file, {name('poni')})")
    xy = named(name("center"), parse_xy, center_text) if center_text else None
    cal = str(calibrant or "").strip() or None
    if cal is not None and poni_path is None and not calibrated:
        raise InputError(f"{name('calibrant')}: the ring fit needs the calibration too: give {name('poni')}")
    if cal is not None:
        from calterm.core.common.calibrants import load_calibrant

        named(name("calibrant"), load_calibrant, cal)
    wavelength_A = parse_number(wavelength, name("wavelength"), positive=True, optional=True)
    if wavelength_A is not None and not 0.01 <= wavelength_A <= 20:
        raise InputError(f"{name('wavelength')}: {wavelength_A:g} Å is not an X-ray wavelength (0.01-20 Å)")
    sources = AlignSources(image=image_path, center=xy, panels=str(panels or "").strip() or "quadrants",
                           mask=_path(mask), frame=parse_number(frame, name("frame"), integer=True, default=0),
                           search_px=parse_number(search, name("search"), positive=True, default=20.0),
                           poni=poni_path, calibrant=cal, wavelength_A=wavelength_A, rotations=bool(rotations),
                           anisotropy=bool(anisotropy))
    if sources.frame < 0:
        raise InputError(f"{name('frame')}: a frame index is 0 or more, got {sources.frame}")
    outputs = align_outputs(corrected, offsets, geom, name=name)
    if outputs["geom"] is not None and poni_path is None and not calibrated:
        raise InputError(f"{name('geom')}: a CrystFEL geometry needs the calibration: give {name('poni')}")
    return AlignRequest(sources, **outputs)


def geom_output(text: str, label: str) -> Path:
    """A ``.geom`` path, checked now (suffix, not a directory, a place the writer may write)."""
    from calterm.core.io.writer import check_target, check_writable

    path = Path(text).expanduser()
    if path.suffix.lower() != ".geom":
        raise InputError(f"{label}: {path}: a CrystFEL geometry file ends in .geom")
    if path.is_dir():
        raise InputError(f"{label}: {path}: is a directory, not a file name")
    named(label, check_target, path)
    named(label, check_writable, path)
    return path


def align_outputs(corrected: Typed, offsets: Typed, geom: Typed = None,
                  name: FieldName = cli_name) -> dict[str, Path | None]:
    """The corrected image (image formats), the offsets file (.json) and the geometry (.geom), checked."""
    out: dict[str, Path | None] = {"corrected": None, "offsets": None, "geom": None}
    if corrected is not None and str(corrected).strip():
        out["corrected"] = output_file(str(corrected).strip(), "image", name("corrected"))
    if offsets is not None and str(offsets).strip():
        out["offsets"] = output_file(str(offsets).strip(), "json", name("offsets"))
    if geom is not None and str(geom).strip():
        out["geom"] = geom_output(str(geom).strip(), name("geom"))
    distinct({k: v for k, v in out.items() if v is not None})
    return out
