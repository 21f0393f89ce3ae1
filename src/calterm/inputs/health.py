"""Detector-health requests (``calterm dark``, ``mask``, ``align``; the app's screens 7-9) from what
the user typed, for both faces.

The CLI hands argparse's values, a screen its fields' text; both get the same frozen request or the
same one-line :class:`InputError`. ``name(key)`` says how the face calls a field (``--clip-sigma`` on
the command line, ``Clip σ`` on the dark screen), so the error names what the user can fix, and a
screen can turn that field red. Every output path is checked here (suffix for its kind, writable
directory), before any frame is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calterm.errors import InputError
from calterm.inputs.values import existing_file, output_path, parse_number, parse_range, parse_words, parse_xy

if TYPE_CHECKING:
    from calterm.core.health.alignment import AlignSources
    from calterm.core.health.dark import DarkOptions
    from calterm.core.health.mask import MaskRules, MaskSources

FieldName = Callable[[str], str]
Typed = str | float | int | None

_CLI_NAMES = {"files": "FILE", "image": "IMAGE", "maximum": "--max", "lists": "--list", "max_share": "--max-share"}
_FORMATS = {"image": "image", "mask": "mask", "json": "JSON"}


def cli_name(key: str) -> str:
    """A field as the command line calls it: ``clip_sigma`` -> ``--clip-sigma``."""
    return _CLI_NAMES.get(key, "--" + key.replace("_", "-"))


def named(label: str, parse: Callable, *args, **kwargs):
    """``parse(*args)`` with its one-line error prefixed by the field's name."""
    try:
        return parse(*args, **kwargs)
    except InputError as exc:
        raise InputError(f"{label}: {exc}", exc.exit_code) from None


def output_file(text: str | Path, kind: str, label: str) -> Path:
    """An output path for ``kind`` (see :data:`calterm.core.io.writer.OUTPUT_SUFFIXES`), checked now:
    a suffix of its kind and a writable directory, or one line naming the field."""
    from calterm.core.io.writer import OUTPUT_SUFFIXES

    path = Path(str(text)).expanduser()
    allowed = OUTPUT_SUFFIXES[kind]
    if path.suffix.lower() not in allowed:
        raise InputError(f"{label}: {path}: unknown {_FORMATS.get(kind, kind)} format {path.suffix!r} "
                         f"(use {', '.join(allowed)})")
    return named(label, output_path, path, kind)


def distinct(paths: Mapping[str, Path]) -> None:
    """Two outputs of one run may not name the same file (the second would replace the first)."""
    if len({p.resolve() for p in paths.values()}) != len(paths):
        raise InputError("two outputs name the same file")


def _path(text: Typed) -> str | None:
    text = "" if text is None else str(text).strip()
    return str(Path(text).expanduser()) if text else None


def _range(text: Typed, label: str) -> tuple[float | None, float | None] | None:
    """``LO,HI`` (either side empty), low below high: an inverted range is a typo, never an empty result."""
    text = "" if text is None else str(text).strip()
    if not text:
        return None
    lo, hi = named(label, parse_range, text)
    if lo is not None and hi is not None and not lo < hi:
        raise InputError(f"{label}: low {lo:g} must be below high {hi:g} (got {text!r})")
    return lo, hi


# --- dark ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DarkRequest:
    """Frames (files or globs, and list files) and how to compute their statistics."""

    files: tuple[str, ...]
    lists: tuple[str, ...]
    options: DarkOptions


def dark_request(*, files: str | Sequence[str] | None, lists: str | Sequence[str] | None = None,
                 sample_std: bool = False, clip_sigma: Typed = None, clip_iterations: Typed = 1,
                 gate_sigma: Typed = None, gate_range: Typed = None, workers: Typed = 1, scheduler: str | None = None,
                 name: FieldName = cli_name) -> DarkRequest:
    from calterm.core.health.dark import DarkOptions

    frames, list_files = parse_words(files), parse_words(lists)
    if not frames and not list_files:
        raise InputError(f"{name('files')}: no input frames (give files, globs or a list file)")
    options = DarkOptions(
        ddof=1 if sample_std else 0,
        clip_sigma=parse_number(clip_sigma, name("clip_sigma"), optional=True, positive=True),
        clip_iterations=parse_number(clip_iterations, name("clip_iterations"), integer=True, positive=True, default=1),
        gate_sigma=parse_number(gate_sigma, name("gate_sigma"), optional=True, positive=True),
        gate_range=_range(gate_range, name("gate_range")),
        workers=parse_number(workers, name("workers"), integer=True, positive=True, default=1),
        scheduler=scheduler or None)
    return DarkRequest(tuple(frames), tuple(list_files), options)


def dark_outputs(paths: Mapping[str, Typed], *, clip_sigma: float | None = None,
                 name: FieldName = cli_name) -> dict[str, Path]:
    """The statistics images to write, {"average"|"std"|"max"|"min"|"clipped_mean": path}, checked."""
    from calterm.core.health.dark import DARK_OUTPUTS

    given = {key: str(text).strip() for key, text in paths.items() if text is not None and str(text).strip()}
    if not given:
        raise InputError("nothing to write: give at least one of "
                         + ", ".join(name(k) for k in DARK_OUTPUTS if k in paths and k != "clipped_mean"))
    if "clipped_mean" in given and clip_sigma is None:
        raise InputError(f"{name('clipped_mean')} needs {name('clip_sigma')} K")
    outputs = {key: output_file(text, "image", name(key)) for key, text in given.items() if key in DARK_OUTPUTS}
    distinct(outputs)
    return outputs


# --- mask ---------------------------------------------------------------------------------------
MASK_BOUNDS = ("average_min", "average_max", "std_min", "std_max", "bright_max_min")


@dataclass(frozen=True)
class MaskRequest:
    sources: MaskSources
    rules: MaskRules
    good: bool = False  # write 1 = good instead of 1 = masked
    max_share: float | None = 0.20  # refuse a mask whose pixel rules flag more (None: no limit)
    force: bool = False  # write it anyway (with a warning)


def mask_request(*, average: Typed = None, std: Typed = None, bright_max: Typed = None, maximum: Typed = None,
                 bounds: Mapping[str, Typed] | None = None, average_sigma: Typed = None, std_sigma: Typed = None,
                 border: Typed = 0, layout: Typed = None, poni: Typed = None, tth_range: Typed = None,
                 q_range: Typed = None, d_range: Typed = None, detector: Typed = None, spline: Typed = None,
                 combine: str | Sequence[str] | None = None, combine_mode: str = "union", combine_good: bool = False,
                 good: bool = False, max_share: Typed = 20, force: bool = False,
                 name: FieldName = cli_name) -> MaskRequest:
    """Rules (a bound of ``none``, ``off`` or nothing switches it off) and the files to read.

    ``maximum`` (``--max``) is refused: a maximum image alone does not say which run it is of, and
    the rule's threshold (max >= 300) is for a bright run's; applied to a dark run's it masked every
    pixel of a low-offset detector. ``max_share`` is a percentage of the sensitive pixels. ``spline``
    (a Fit2D spline file) moves the PONI's pixels for the ranges, so it needs ``poni``."""
    from calterm.core.health.mask import MaskRules, MaskSources

    if _path(maximum):
        raise InputError(f"{name('maximum')}: whose maximum? a bright run's (flat field, powder) is "
                         f"{name('bright_max')}, for the rule 'good when >= {name('bright_max_min')}' (default 300); "
                         f"a dark run's is not needed: dead, hot and noisy pixels come from {name('average')} "
                         f"and {name('std')}")
    sources = MaskSources(average=_path(average), std=_path(std), bright_max=_path(bright_max), poni=_path(poni),
                          detector=str(detector).strip() if detector and str(detector).strip() else None,
                          layout=_path(layout), combine=tuple(str(Path(p).expanduser()) for p in parse_words(combine)),
                          combine_mode=combine_mode or "union", combine_good=bool(combine_good),
                          spline=existing_file(spline, name('spline'), optional=True))
    if sources.spline and not sources.poni:
        raise InputError(f"{name('spline')}: a spline moves the pixels of a geometry: give {name('poni')} too")
    if not (sources.average or sources.std or sources.bright_max or sources.combine or sources.poni):
        raise InputError(f"{name('average')}: give at least one statistics image (average, std, bright max), "
                         "a mask file to combine or a PONI with a detector shape")
    typed = dict(bounds or {})
    values = {key: parse_number(typed[key], name(key), optional=True, allow_none_word=True)
              for key in MASK_BOUNDS if key in typed}
    rules = MaskRules(**values, average_sigma=parse_number(average_sigma, name("average_sigma"), optional=True,
                                                           positive=True),
                      std_sigma=parse_number(std_sigma, name("std_sigma"), optional=True, positive=True),
                      border=parse_number(border, name("border"), integer=True, default=0),
                      tth_range_deg=_range(tth_range, name("tth_range")), q_range_nm=_range(q_range, name("q_range")),
                      d_range_A=_range(d_range, name("d_range")))
    share = parse_number(max_share, name("max_share"), positive=True, allow_none_word=True, default=20)
    if share is not None and share > 100:
        raise InputError(f"{name('max_share')}: a percentage of the detector, at most 100, not {share:g}")
    return MaskRequest(sources, rules, bool(good), None if share is None else share / 100, bool(force))


def mask_output(text: Typed, name: FieldName = cli_name) -> Path:
    """The mask file to write (.edf, Dioptas .mask, .tif, .npy), checked."""
    if text is None or not str(text).strip():
        raise InputError(f"{name('output')}: give the mask file to write (.edf, .mask, .tif, .npy)")
    return output_file(str(text).strip(), "mask", name("output"))


# --- align --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlignRequest:
    sources: AlignSources
    corrected: Path | None = None  # the image with every panel moved by -shift
    offsets: Path | None = None  # the shifts as a JSON geometry file


def align_request(*, image: Typed, center: Typed, panels: Typed = "quadrants", mask: Typed = None,
                  frame: Typed = 0, search: Typed = 20.0, corrected: Typed = None, offsets: Typed = None,
                  name: FieldName = cli_name) -> AlignRequest:
    from calterm.core.health.alignment import AlignSources

    image_path = _path(image)
    if image_path is None:
        raise InputError(f"{name('image')}: give a powder image")
    xy = named(name("center"), parse_xy, "" if center is None else str(center))
    sources = AlignSources(image=image_path, center=xy, panels=str(panels or "").strip() or "quadrants",
                           mask=_path(mask), frame=parse_number(frame, name("frame"), integer=True, default=0),
                           search_px=parse_number(search, name("search"), positive=True, default=20.0))
    if sources.frame < 0:
        raise InputError(f"{name('frame')}: a frame index is 0 or more, got {sources.frame}")
    return AlignRequest(sources, **align_outputs(corrected, offsets, name=name))


def align_outputs(corrected: Typed, offsets: Typed, name: FieldName = cli_name) -> dict[str, Path | None]:
    """The corrected image (image formats) and the offsets file (.json) to write, checked."""
    out: dict[str, Path | None] = {"corrected": None, "offsets": None}
    if corrected is not None and str(corrected).strip():
        out["corrected"] = output_file(str(corrected).strip(), "image", name("corrected"))
    if offsets is not None and str(offsets).strip():
        out["offsets"] = output_file(str(offsets).strip(), "json", name("offsets"))
    distinct({k: v for k, v in out.items() if v is not None})
    return out
