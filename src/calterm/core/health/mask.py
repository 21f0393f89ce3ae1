"""Pixel masks from dark-run statistics, geometry ranges, the detector's gaps and existing mask files.

The default rule is ``cxi.make_dials_mask``'s: a pixel is good when 0 < average <= 2000 and
0 < std <= 10 (average and std of a *dark* run, ADU of an integrating detector) and, when the maximum
image of a *bright* run is given, bright max >= 300 (a pixel that never saw photons is dead). The
inputs are named by the run they come from: the 300 threshold is the rule's for a bright run, and
applied to a dark run's maximum it masked every pixel of a detector with an offset below 300 ADU
(the README's own dark -> mask example did). Each bound is settable or switched off. Optional: detector-wide
statistical limits (mean +- k sigma of the average or std image over the pixels the detector does
not mask, as psana does), a border of N pixels around each module, and 2theta / q / d ranges from a
PONI geometry. The result can be combined with existing mask files (union or intersection) and is
always united with the detector's own mask (its gaps are never good).

Masks are True = masked (pyFAI's convention); ``as_output`` gives 1 = good on request. The report
counts the pixels each rule flags (rules overlap, so counts need not add up to the total).

A mask is a list of *bad* pixels: when the pixel rules (thresholds, sigma limits) flag more than
:data:`DEFAULT_MAX_SHARE` of the pixels the detector itself does not mask, the rule does not fit
the images (wrong run, another detector's ADU scale), not the detector: :func:`share_problem` says
so in one line, naming the rules that did it, and the faces refuse to write it unless forced.
Ranges, borders, mask files and the detector's gaps are areas the user asked for and do not count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from calterm.core.common.panel_layouts import Panel, modules_between_gaps
from calterm.errors import InputError

Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class MaskRules:
    """Thresholds (None switches one off) and optional rules; defaults are cxi.make_dials_mask's."""

    average_min: float | None = 0.0  # good when average > average_min
    average_max: float | None = 2000.0  # good when average <= average_max
    std_min: float | None = 0.0  # good when std > std_min
    std_max: float | None = 10.0  # good when std <= std_max
    bright_max_min: float | None = 300.0  # good when a bright run's max >= bright_max_min
    average_sigma: float | None = None  # good when |average - detector mean| <= k * detector std
    std_sigma: float | None = None
    border: int = 0  # pixels masked at each module edge
    tth_range_deg: Range | None = None  # good inside [lo, hi]
    q_range_nm: Range | None = None  # q in 1/nm, as pyFAI
    d_range_A: Range | None = None  # d-spacing in angstrom

    def __post_init__(self) -> None:
        for name in ("average_sigma", "std_sigma"):
            k = getattr(self, name)
            if k is not None and not k > 0:
                raise InputError(f"{name.replace('_', ' ')} must be positive, not {k}")
        if self.border < 0:
            raise InputError(f"border must be >= 0 pixels, not {self.border}")
        for name in ("tth_range_deg", "q_range_nm", "d_range_A"):
            r = getattr(self, name)
            if r is not None and r[0] is not None and r[1] is not None and not r[0] < r[1]:
                raise InputError(f"{name}: low must be below high, got {r}")


@dataclass
class MaskResult:
    """The mask (True = masked) and the number of pixels each rule flags."""

    mask: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)  # pixel rules' share of the sensitive pixels
    spline: dict | None = None  # the spline file the ranges' pixels were moved by (see typed_spline)

    @property
    def masked(self) -> int:
        return int(self.mask.sum())

    def as_output(self, good: bool = False) -> np.ndarray:
        """uint8 image: 1 = masked (pyFAI), or 1 = good when ``good``."""
        return (~self.mask if good else self.mask).astype(np.uint8)

    def report(self) -> dict:
        n = self.mask.size
        return {"shape": list(self.mask.shape), "masked": self.masked, "good": n - self.masked,
                "masked_fraction": self.masked / n, "rules": dict(self.counts),
                "pixel_rules_fraction": self.shares.get("all pixel rules", 0.0),
                **({"spline": dict(self.spline)} if self.spline else {})}


def threshold_flags(average: np.ndarray | None, std: np.ndarray | None, bright_max: np.ndarray | None,
                    rules: MaskRules, valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-rule bad-pixel flags from the statistics images (NaN statistics are flagged ``not_finite``)."""
    flags: dict[str, np.ndarray] = {}
    given = [a for a in (average, std, bright_max) if a is not None]
    if given:
        flags["not_finite"] = np.logical_or.reduce([~np.isfinite(a) for a in given])
    with np.errstate(invalid="ignore"):
        if average is not None:
            if rules.average_min is not None:
                flags["average_low"] = average <= rules.average_min
            if rules.average_max is not None:
                flags["average_high"] = average > rules.average_max
            if rules.average_sigma is not None:
                flags["average_sigma"] = _sigma_flags(average, rules.average_sigma, valid)
        if std is not None:
            if rules.std_min is not None:
                flags["std_low"] = std <= rules.std_min
            if rules.std_max is not None:
                flags["std_high"] = std > rules.std_max
            if rules.std_sigma is not None:
                flags["std_sigma"] = _sigma_flags(std, rules.std_sigma, valid)
        if bright_max is not None and rules.bright_max_min is not None:
            flags["bright_max_low"] = bright_max < rules.bright_max_min
    return flags


# Rules that judge a pixel by its statistics (the share limit applies to them, see the module docstring).
PIXEL_RULES = ("not_finite", "average_low", "average_high", "average_sigma", "std_low", "std_high", "std_sigma",
               "bright_max_low")
# A healthy integrating detector has well under 1 % bad pixels, a damaged one with a dead module or
# two a few per cent; a fifth of the sensitive area is beyond both: the rule does not fit the images.
DEFAULT_MAX_SHARE = 0.20


def rule_text(name: str, rules: MaskRules) -> str:
    """What a pixel rule flags, with its bound: ``average_high`` -> ``average > 2000``."""
    forms = {"average_low": ("average <= {:g}", rules.average_min), "average_high": ("average > {:g}", rules.average_max),
             "std_low": ("std <= {:g}", rules.std_min), "std_high": ("std > {:g}", rules.std_max),
             "bright_max_low": ("bright max < {:g}", rules.bright_max_min),
             "average_sigma": ("average beyond {:g} sigma", rules.average_sigma),
             "std_sigma": ("std beyond {:g} sigma", rules.std_sigma)}
    if name == "not_finite":
        return "a statistic NaN/Inf"
    form, bound = forms.get(name, (name, None))
    return form if bound is None else form.format(bound)


def share_problem(result: MaskResult, rules: MaskRules, limit: float | None = DEFAULT_MAX_SHARE) -> str | None:
    """One line when the pixel rules flag more than ``limit`` of the sensitive pixels, naming the
    rules that did it (those over the limit alone, else the largest two); None when within it."""
    total = result.shares.get("all pixel rules", 0.0)
    if limit is None or total <= limit:
        return None
    each = sorted(((v, k) for k, v in result.shares.items() if k != "all pixel rules"), reverse=True)
    named = [(v, k) for v, k in each if v > limit] or each[:2]
    why = ", ".join(f"{k} ({rule_text(k, rules)}) {100 * v:.1f} %" for v, k in named)
    return (f"the pixel rules mask {100 * total:.1f} % of the detector, more than the {100 * limit:g} % a "
            f"detector's bad pixels can be: {why}; the rule does not fit these images (another run, "
            "offset or ADU scale?): change or switch off that bound")


def _sigma_flags(image: np.ndarray, k: float, valid: np.ndarray | None) -> np.ndarray:
    """Outside mean +- k std of the image over finite pixels the detector does not mask."""
    use = np.isfinite(image) if valid is None else np.isfinite(image) & valid
    if not use.any():
        raise InputError("no finite pixel to compute the detector-wide mean and sigma from")
    mean, sigma = image[use].mean(), image[use].std()
    return np.abs(image - mean) > k * sigma


def border_flags(shape: tuple[int, int], width: int, modules: Sequence[Panel]) -> np.ndarray:
    """``width`` pixels inside each module's edge."""
    flags = np.zeros(shape, bool)
    for m in modules:
        region = flags[m.slices]
        region[:width, :] = True
        region[-width:, :] = True
        region[:, :width] = True
        region[:, -width:] = True
    return flags


def range_flags(rules: MaskRules, geometry, detector, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Pixels outside the 2theta / q / d ranges, computed by pyFAI from a PONI geometry."""
    wanted = [r for r in ("tth_range_deg", "q_range_nm", "d_range_A") if getattr(rules, r) is not None]
    if not wanted:
        return {}
    if geometry is None:
        raise InputError("2theta, q or d ranges need a PONI file (--poni)")
    if detector.shape is not None and tuple(detector.shape) != tuple(shape):
        raise InputError(f"the PONI's detector has shape {tuple(detector.shape)}, the images {tuple(shape)}")
    ai = geometry.to_pyfai(detector)
    flags = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in wanted:
            if name == "tth_range_deg":
                values = np.degrees(ai.twoThetaArray(shape))
            else:
                q = ai.qArray(shape)  # 1/nm
                values = q if name == "q_range_nm" else np.where(q > 0, 20 * math.pi / q, np.inf)
            lo, hi = getattr(rules, name)
            bad = ~np.isfinite(values)
            if lo is not None:
                bad |= values < lo
            if hi is not None:
                bad |= values > hi
            flags[name.rsplit("_", 1)[0]] = bad
    return flags


def build_mask(shape: tuple[int, int], rules: MaskRules = MaskRules(), *, average=None, std=None, bright_max=None,
               detector_mask: np.ndarray | None = None, modules: Sequence[Panel] | None = None,
               geometry=None, detector=None, files: Sequence[tuple[str, np.ndarray]] = (),
               combine: str = "union") -> MaskResult:
    """The mask: rules united, combined with ``files`` (union or intersection), plus the detector mask.

    ``modules`` (for the border) default to the detector's unmasked regions, else the whole image.
    Intersection keeps a pixel masked only if the rules and every file mask it.
    """
    if combine not in ("union", "intersection"):
        raise InputError(f"combine must be 'union' or 'intersection', not {combine!r}")
    for name, img in (("average", average), ("std", std), ("bright max", bright_max), *files):
        if img is not None and img.shape != tuple(shape):
            raise InputError(f"{name}: shape {img.shape} does not match {tuple(shape)}")
    det = None if detector_mask is None else np.asarray(detector_mask, bool)
    if det is not None and det.shape != tuple(shape):
        raise InputError(f"detector mask shape {det.shape} does not match {tuple(shape)}")
    flags = threshold_flags(average, std, bright_max, rules, None if det is None else ~det)
    sensitive = np.ones(shape, bool) if det is None else ~det
    pixel_rules = [f for name, f in flags.items() if name in PIXEL_RULES]
    shares = {name: float((f & sensitive).sum() / max(int(sensitive.sum()), 1))
              for name, f in flags.items() if name in PIXEL_RULES}
    if pixel_rules:
        shares["all pixel rules"] = float((np.logical_or.reduce(pixel_rules) & sensitive).sum()
                                          / max(int(sensitive.sum()), 1))
    if rules.border:
        if modules is None:
            modules = modules_between_gaps(det) if det is not None and det.any() else \
                [Panel("detector", 0, 0, shape[1], shape[0])]
        flags["border"] = border_flags(shape, rules.border, modules)
    flags.update(range_flags(rules, geometry, detector, shape))
    sources = []
    if flags:
        sources.append(np.logical_or.reduce(list(flags.values())))
    counts = {name: int(f.sum()) for name, f in flags.items()}
    for name, m in files:
        m = np.asarray(m, bool)
        counts[f"file:{name}"] = int(m.sum())
        sources.append(m)
    if not sources and det is None:
        raise InputError("nothing to build a mask from: give statistics images, ranges, mask files or a detector")
    if not sources:
        mask = np.zeros(shape, bool)
    elif combine == "union":
        mask = np.logical_or.reduce(sources)
    else:
        mask = np.logical_and.reduce(sources)
    if det is not None:
        counts["detector"] = int(det.sum())
        mask = mask | det
    return MaskResult(mask, counts, shares)


# --- from files to the written mask: what ``calterm mask`` and the mask screen share ---------------
@dataclass(frozen=True)
class MaskSources:
    """The files a mask is built from (paths; None or empty when not given)."""

    average: str | None = None
    std: str | None = None
    bright_max: str | None = None  # the maximum image of a bright run (flat field, powder): dead pixels
    poni: str | None = None  # geometry for the 2theta/q/d ranges; its detector's mask is added
    detector: str | None = None  # a pyFAI detector whose own mask (gaps) is added
    layout: str | None = None  # modules for the border rule
    combine: tuple[str, ...] = ()  # existing mask files
    combine_mode: str = "union"
    combine_good: bool = False  # the combine files use 1 = good
    spline: str | None = None  # a Fit2D spline file for the PONI's detector; replaces the PONI's own


def read_stat_image(path: str | os.PathLike) -> np.ndarray:
    """A statistics image as float: raw values (a dark average may be negative, pedestal-subtracted)."""
    from calterm.core.io.images import read_array

    raw, _ = read_array(path)
    if raw.ndim != 2 or raw.dtype.kind not in "biuf":
        raise InputError(f"{path}: expected a 2D numeric image, got shape {raw.shape} of {raw.dtype}")
    return raw.astype(float)


def build_mask_from_files(sources: MaskSources, rules: MaskRules = MaskRules(),
                          read: Callable[[str], np.ndarray] = read_stat_image) -> MaskResult:
    """Read ``sources`` (statistics images through ``read``, e.g. a cache) and build the mask."""
    from calterm.core.common.panel_layouts import load_layout
    from calterm.core.io.images import load_mask, read_array

    images = {k: read(p) if p else None for k, p in
              (("average", sources.average), ("std", sources.std), ("bright_max", sources.bright_max))}
    shape = next((img.shape for img in images.values() if img is not None), None)
    if shape is None and sources.combine:
        shape = read_array(sources.combine[0])[0].shape[-2:]
    geometry = detector = None
    if sources.poni:
        from calterm.core.common.geometry import load_poni

        geometry, detector = load_poni(sources.poni)
        if shape is None and detector.shape is not None:
            shape = tuple(detector.shape)
    if shape is None:
        raise InputError("give an average, std or max image, a mask file to combine or a PONI with a detector shape")
    det_mask = None
    if sources.detector:
        from calterm.core.common.detectors import resolve_detector

        det_mask = resolve_detector(shape, sources.detector).detector.mask
    elif detector is not None:
        det_mask = detector.mask
    if det_mask is not None and tuple(det_mask.shape) != tuple(shape):
        raise InputError(f"detector mask shape {tuple(det_mask.shape)} does not match the images {tuple(shape)}")
    files = []
    for path in sources.combine:
        m = load_mask(path, shape)
        files.append((Path(path).name, ~m if sources.combine_good else m))
    modules = load_layout(sources.layout, shape) if sources.layout else None
    spline = None
    if sources.spline:  # after the detector's mask: pyFAI's spline setter resets a binned detector's shape
        detector, spline = typed_spline(detector, sources.spline, shape)
    elif getattr(detector, "splinefile", None):
        spline = {"file": detector.splinefile, "source": "poni", "replaces": None}
    result = build_mask(shape, rules, average=images["average"], std=images["std"], bright_max=images["bright_max"],
                        detector_mask=det_mask, modules=modules, geometry=geometry, detector=detector,
                        files=files, combine=sources.combine_mode)
    result.spline = spline
    return result


def typed_spline(detector, path: str, shape: tuple[int, int]) -> tuple[object, dict]:
    """The PONI's detector with the user's spline file (calibrate's helper: one line when it is
    missing, not a spline or of another grid), and what the report says: the file, and the PONI's
    own spline it replaces (the typed one wins)."""
    from calterm.core.common.spline_detector import with_spline

    if detector is None:
        raise InputError(f"{path}: a spline file moves the pixels of a geometry: give a PONI too")
    old = getattr(detector, "splinefile", None)
    det = with_spline(detector, path, shape)
    return det, {"file": det.splinefile, "source": "typed", "replaces": old}


def mask_provenance(sources: MaskSources, rules: MaskRules) -> dict:
    """What the mask came from, logged with the written file: the files and every rule's value."""
    return {"average": sources.average, "std": sources.std, "bright_max": sources.bright_max, "poni": sources.poni,
            "detector": sources.detector, "layout": sources.layout, "combine": list(sources.combine),
            "spline": sources.spline,
            "rules": {**asdict(rules), "combine_mode": sources.combine_mode, "combine_good": sources.combine_good}}


def write_mask_output(result: MaskResult, path: str | os.PathLike, *, good: bool, command: str,
                      inputs: dict) -> Path:
    """Write the mask (1 = masked, or 1 = good when ``good``) as a new version; the version's path."""
    from calterm.core.io.images import write_image
    from calterm.core.io.writer import write_output

    data = result.as_output(good=good)
    return write_output(path, lambda tmp: write_image(tmp, data), command=command,
                        inputs={**inputs, "convention": "1 = good" if good else "1 = masked"})
