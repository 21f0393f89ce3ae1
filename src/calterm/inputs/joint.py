"""``calterm calibrate-many``'s request from what the user typed: the ONE builder of
:class:`calterm.core.joint.model.JointRequest`.

Keys: images (paths), the single-image keys of :mod:`calterm.inputs.calibrate` shared by every
image (calibrant, wavelength/energy, detector, pixel_size, rotate, flip, mask, center, fix, free,
bound, ...), with ``calibrant`` and ``distance`` also accepted as comma lists of one value per
image; model (``PARAM=MODE,...``: shared, per-image, linked, fixed); travel (``0,100,200`` in mm,
or ``header``: the header distances' differences from the first image's). Outputs: poni_dir.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from calterm.core.joint.model import JointRequest, ParameterModel
from calterm.errors import InputError
from calterm.inputs.calibrate import calibration_request, cli_name
from calterm.inputs.values import existing_file, field_text, in_field, parse_number

PER_IMAGE_KEYS = ("calibrant", "distance")


def parse_model(text: str | None, linked_default: bool) -> dict[str, str]:
    """``dist=linked,rot3=shared`` -> {param: mode}; the distance is linked by default when a travel is given."""
    modes = {"dist": "linked"} if linked_default else {}
    for item in field_text(text).split(","):
        if not item.strip():
            continue
        name, eq, mode = item.partition("=")
        if not eq or not mode.strip():
            raise InputError(f"--model: PARAM=MODE is expected (dist=linked), got {item.strip()!r}")
        modes[name.strip()] = mode.strip()
    return modes


def parse_travel(text: str | None, images: list[str], frame: int = 0) -> tuple[float, ...] | None:
    """The travel of each image (m): typed in mm (``0,100,200``), or ``header`` for the header
    distances minus the first image's."""
    value = field_text(text)
    if not value:
        return None
    if value.lower() == "header":
        from calterm.core.io.headers import header_facts

        distances = []
        for path in images:
            d = header_facts(path, frame).distance_mm
            if d is None:
                raise InputError(f"--travel: header: {path} states no distance in its header")
            distances.append(d)
        return tuple((d - distances[0]) * 1e-3 for d in distances)
    parts = value.split(",")
    if len(parts) != len(images):
        raise InputError(f"--travel: {len(parts)} values for {len(images)} images (one per image, in mm)")
    return tuple(parse_number(p, "--travel") * 1e-3 for p in parts)


def _per_image(key: str, value, n: int) -> list:
    text = field_text(value)
    if "," not in text:
        return [value] * n
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != n:
        raise InputError(f"{cli_name(key)}: {len(parts)} values for {n} images (one, or one per image)")
    return parts


def joint_request(fields: Mapping[str, object]) -> JointRequest:
    """The joint request from typed fields; one InputError line naming the field."""
    images = [existing_file(p, "IMAGE") for p in (fields.get("images") or [])]
    if len(images) < 2:
        raise InputError("IMAGE: a joint calibration needs at least two images")
    if len(set(images)) != len(images):
        raise InputError("IMAGE: an image is given twice")
    shared = {k: v for k, v in fields.items() if k not in ("images", "model", "travel", *PER_IMAGE_KEYS)}
    per_image = {k: _per_image(k, fields.get(k), len(images)) for k in PER_IMAGE_KEYS}
    requests = []
    for k, path in enumerate(images):
        one = {**shared, "image": path, **{key: values[k] for key, values in per_image.items()}}
        requests.append(calibration_request(one))
    travel = in_field("travel", cli_name, parse_travel, fields.get("travel"), images, int(fields.get("frame") or 0))
    modes = in_field("model", cli_name, parse_model, fields.get("model"), travel is not None)
    model = in_field("model", cli_name, ParameterModel, modes, travel)
    if model.linked and requests[0].distance_mm is not None:
        # one typed distance with a travel: each image starts at its own (first + travel)
        typed = per_image["distance"]
        if len(set(map(str, typed))) == 1:
            requests = [replace(r, distance_mm=requests[0].distance_mm + t * 1e3) for r, t in zip(requests, travel,
                                                                                                   strict=True)]
    return JointRequest(tuple(requests), model)


def poni_dir(text: str | None) -> Path | None:
    """The folder the PONI files go to (created if missing, checked now: nothing computed for
    outputs that could not be written)."""
    value = field_text(text)
    if not value:
        return None
    folder = Path(value).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--poni-dir: {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--poni-dir: cannot create {folder} ({exc.strerror or exc})") from None
    return folder
