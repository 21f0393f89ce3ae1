"""The image header's facts as a calibration's start values, and the rule that keeps them honest.

A header's distance and beam centre (:mod:`calterm.core.io.headers`) fill the request's start
values where the user typed none; its pixel size and detector name steer the detector choice
(:func:`calterm.core.common.detectors.resolve_detector`); its wavelength is taken by the face that
builds the request (:mod:`calterm.inputs.calibrate`), which says so in ``request.from_header``.

Headers are often wrong (the mar345 header of ``agbe_60sec_006.mar1200`` says 400 mm where its
AgBh ring says 1064 mm; the ADSC header of ``AgBe_Quantum.img`` puts the beam far from its rings),
and a typed distance narrows the comb to ±30 %: so a calibration started from header values that
does not end *good* is run again without them, and the better verdict is kept. The verdict judges
either way: a header can make a calibration faster or possible, never make a wrong fit good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from calterm.core.calibrate.model import CalibrationRequest, CalibrationResult
from calterm.core.common.jobs import JobContext
from calterm.core.io.headers import HeaderFacts, header_facts, oriented_facts
from calterm.errors import ComputationError

PIXEL_FROM_HEADER = ("pixel size from header", "its pixel size is the header's", "the file header names it")


def _contradicted(request: CalibrationRequest, facts: HeaderFacts) -> bool:
    """Did the user type a wavelength or pixel size other than the header's (by more than 1 %)?
    Then the header describes another setup than the one typed, and its distance and centre (whose
    rings sit at radii set by that wavelength and pixel size) are no start for this one."""
    if facts.wavelength_A is not None and abs(request.wavelength_m * 1e10 - facts.wavelength_A) > 0.01 * facts.wavelength_A:
        return True
    typed = request.pixel_size_um
    return typed is not None and facts.pixel_um is not None and abs(typed - facts.pixel_um) > 0.01 * facts.pixel_um


def _starts(request: CalibrationRequest, facts: HeaderFacts) -> dict:
    """The start values the header adds (request field -> value): only where none was typed, and
    only when what was typed does not contradict the header."""
    if not request.header_starts or _contradicted(request, facts):
        return {}
    out: dict = {}
    if request.distance_mm is None and facts.distance_mm is not None and "dist" not in request.constraints.fixed:
        out["distance_mm"] = facts.distance_mm  # a fixed distance is the user's to type
    if request.center_xy is None and facts.center_xy is not None:
        out["center_xy"] = tuple(facts.center_xy)
    return out


def with_header_starts(request: CalibrationRequest, raw_shape: tuple[int, int]):
    """(request with the header's start values, the header's facts as stored, the "from header"
    block of what it added); ``raw_shape`` is the image as stored, before rotate/flip."""
    facts = header_facts(request.image_path, request.frame)
    starts = _starts(request, oriented_facts(facts, raw_shape, request.rotate, request.flip))
    used = {name: {"value": list(v) if isinstance(v, tuple) else v,
                   "key": facts.keys.get("center_xy" if name == "center_xy" else "distance_mm", "")}
            for name, v in starts.items()}
    if "wavelength_A" in request.from_header:
        used["wavelength_A"] = {"value": request.wavelength_m * 1e10, "key": facts.keys.get("wavelength_A", "")}
    return replace(request, **starts), facts, used


def header_block(used: dict, choice, facts: HeaderFacts) -> dict:
    """The result's ``from_header``: the start values and wavelength taken, and the pixel size
    when the header decided the detector."""
    out = dict(used)
    if getattr(choice, "reason", "") in PIXEL_FROM_HEADER:
        out["pixel_size_um"] = {"value": list(choice.pixel_size_um), "key": facts.keys.get("pixel_size_um", ""),
                                "detector": choice.name}
    return out


def _rank(result: CalibrationResult) -> tuple:
    return ({"good": 0, "doubtful": 1, "failed": 2}[result.verdict.status], result.verdict.rms_rad)


def calibrate_trying_header(run: Callable[[CalibrationRequest, JobContext], CalibrationResult],
                            request: CalibrationRequest, ctx: JobContext) -> CalibrationResult:
    """``run(request)``; when the header gave start values and the fit is not good (or failed),
    ``run`` again without them and keep the better verdict (see the module)."""
    starts = _starts(request, header_facts(request.image_path, request.frame))
    if not starts:
        return run(request, ctx)
    first = None
    try:
        first = run(request, ctx)
        if first.verdict.ok:
            return first
    except ComputationError:
        pass
    ctx.report("again, without the header's start values")
    try:
        second = run(replace(request, header_starts=False), ctx)
    except ComputationError:
        if first is None:
            raise
        return first
    if first is not None and _rank(first) <= _rank(second):
        return first
    return replace(second, from_header={**second.from_header, "start_values_not_kept": sorted(starts)})
