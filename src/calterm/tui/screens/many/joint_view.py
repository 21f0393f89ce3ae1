"""What the joint screen shows, as plain text and numbers (no widgets, no engine imports at load):
the parameter model as the picker's [x]/[ ] rows, the line saying whether λ is identifiable, the
fields handed to :func:`calterm.inputs.joint.joint_request` and the result as a small report the
session keeps (so a resumed session shows the last run without recomputing it).

The identifiability decision is the engine's (:meth:`ParameterModel.wavelength_identifiable`); only
its wording is the app's. Errors from the shared parser name CLI flags (``--travel``); the screen
shows them with its own field labels instead (:func:`app_words`).

The report keeps the numbers in Å, mm and mrad (as sessions saved before the unit toggle hold
them); the summary, the table and its headers convert them to the screens' unit system
(:mod:`calterm.tui.units`: mm / mrad / Å, or PONI units, m and rad) when shown.
"""

from __future__ import annotations

import math
from pathlib import Path

from calterm.tui.units import MM, PONI, fmt, header, unit

PARAMS = ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength")
MODES = ("shared", "per-image", "linked", "fixed")
MODE_LABELS = {"shared": "shared", "per-image": "per image", "linked": "linked", "fixed": "fixed"}
DEFAULT_MODES = {"dist": "per-image", "poni1": "shared", "poni2": "shared", "rot1": "shared", "rot2": "shared",
                 "rot3": "fixed", "wavelength": "shared"}
PARAM_LABELS = {"dist": "distance", "poni1": "poni1 (y)", "poni2": "poni2 (x)", "rot1": "rot1", "rot2": "rot2",
                "rot3": "rot3", "wavelength": "λ"}
# what the shared parser calls a field -> what the joint screen calls it (a unit: in the shown system)
CLI_WORDS = {"--travel": "Δ travel", "--model": "Model", "--calibrant": "Calibrant", "--distance": ("Distance", "distance"),
             "--wavelength": ("Wavelength", "wavelength"), "--energy": "Energy", "--pixel-size": ("Pixel", "pixel"),
             "--detector": "Detector", "IMAGE:": "Images:"}


def distance_label(units: str = MM) -> str:
    """The per-image start distance's label (``Distance mm``)."""
    return header("Distance", "distance", units)


def travel_hint(units: str = MM) -> str:
    """The Δ travel field's hint, its example in the unit typed."""
    example = "0,100" if units != PONI else "0,0.1"
    return f"{unit('distance', units)} per image ({example},...) or header"


def allowed(param: str, mode: str) -> bool:
    """The engine's rules: only the distance can be linked; one beam, so λ is never per image."""
    if mode == "linked":
        return param == "dist"
    return not (param == "wavelength" and mode == "per-image")


def mark(modes: dict[str, str], param: str, mode: str) -> str:
    """A picker cell: [x] chosen, [ ] choosable, - not allowed (readable without colour)."""
    if not allowed(param, mode):
        return " - "
    return "[x]" if modes.get(param, DEFAULT_MODES[param]) == mode else "[ ]"


def model_text(modes: dict[str, str]) -> str:
    """The picker's state as the parser's ``PARAM=MODE,...`` text (every parameter named)."""
    return ",".join(f"{p}={modes.get(p, DEFAULT_MODES[p])}" for p in PARAMS)


def lambda_line(modes: dict[str, str], travel_text: str, units: str = MM) -> str:
    """Whether the wavelength will be refined, in words, from the engine's own rule."""
    from calterm.core.joint.model import ParameterModel

    full = {**DEFAULT_MODES, **modes}
    travel = (0.0,) if full["dist"] == "linked" else None  # any travel: the rule depends on the modes only
    refined, _ = ParameterModel(full, travel).wavelength_identifiable()
    if refined:
        need = "" if travel_text.strip() else f" (type the Δ travel: {unit('distance', units)} per image, or header)"
        return f"λ is refined: linked distances, dist_i = L0 + Δ_i{need}"
    if full["wavelength"] == "fixed":
        return "λ stays at the typed value: fixed in the model"
    # one row at 80 columns: "λ stays at the typed value: distances per image; link them (Δ) to refine it"
    return f"λ stays at the typed value: distances {MODE_LABELS[full['dist']]}; link them (Δ) to refine it"


def joint_fields(images: list[dict], values: dict, modes: dict[str, str]) -> dict:
    """The mapping :func:`calterm.inputs.joint.joint_request` takes, as the CLI builds it."""
    def per_image(key: str):
        typed = [str(im.get(key, "")).strip() for im in images]
        if len(set(typed)) <= 1:
            return typed[0] if typed else ""
        return ",".join(typed)

    distance = per_image("distance")
    typed = [str(im.get("distance", "")).strip() for im in images]
    if {**DEFAULT_MODES, **modes}["dist"] == "linked" and typed and typed[0] and not any(typed[1:]):
        distance = typed[0]  # linked: the first image's start, the others' follow from the travel (the parser)
    return {"images": [im["path"] for im in images], "calibrant": per_image("calibrant"),
            "distance": distance, "wavelength": values.get("wavelength", ""),
            "pixel_size": values.get("pixel_size", ""), "detector": values.get("detector", ""),
            "travel": values.get("travel", ""), "model": model_text(modes)}


def app_words(message: str, units: str = MM) -> str:
    """A parser message with the screen's field names (their units shown) instead of the CLI's flags."""
    for cli, label in CLI_WORDS.items():
        message = message.replace(cli, label if isinstance(label, str) else header(*label, units))
    return message.replace("in mm)", f"in {unit('distance', units)})")


def joint_report(result) -> dict:
    """The result as the screen shows it: λ ± σ (Å), L0 ± σ (mm), one row per image (mm, px, mrad)."""
    from calterm.core.joint.calibrate_many import RMS_FLOOR_DEG, WORSE_THAN_OWN

    sigma = result.sigma
    rows = []
    for k, f in enumerate(result.images):
        g, det = f.geometry, f.own.detector
        x, y = g.beam_center_px(det)
        worse = f.rms_2th_deg > max(WORSE_THAN_OWN * f.own.rms_2th_deg, RMS_FLOOR_DEG)
        verdict = "good" if f.own.verdict.ok and not worse else "doubtful"
        rows.append({"image": f.image_path, "dist_mm": g.dist * 1e3,
                     "dist_sigma_mm": _scaled(sigma.get(f"dist[{k}]"), 1e3), "center_x": x, "center_y": y,
                     "rot1_mrad": g.rot1 * 1e3, "rot2_mrad": g.rot2 * 1e3, "rot3_mrad": g.rot3 * 1e3,
                     "rms_2th_deg": f.rms_2th_deg, "n_points": int(f.residual_rad.size), "verdict": verdict})
    return {"status": result.status, "reasons": list(result.reasons), "wavelength_A": result.wavelength_m * 1e10,
            "wavelength_sigma_A": _scaled(sigma.get("wavelength"), 1e10), "wavelength_refined": result.wavelength_refined,
            "wavelength_note": result.wavelength_note, "L0_mm": _scaled(result.values.get("L0"), 1e3),
            "L0_sigma_mm": _scaled(sigma.get("L0"), 1e3), "images": rows}


def _scaled(value, factor: float):
    return None if value is None or not math.isfinite(value) else float(value) * factor


def summary_lines(report: dict, units: str = MM) -> list[str]:
    """λ ± σ, L0 ± σ and the verdict, in Å and mm (or metres in PONI units)."""
    poni = units == PONI
    lam, s = report["wavelength_A"], report.get("wavelength_sigma_A")
    lam_unit = unit("wavelength", units)
    lam_text = fmt("wavelength", lam, units, from_unit="Å", spec=".6e" if poni else ".6f")
    sigma_text = "" if s is None else fmt("wavelength", s, units, from_unit="Å", spec=".2e" if poni else ".6f")
    lines = [f"verdict [b]{report['status']}[/b]: {'; '.join(report['reasons'])}",
             f"λ [b]{lam_text}[/b]" + (f" ± {sigma_text} {lam_unit} (refined)" if s is not None
                                       else f" {lam_unit} (kept: not refined)")]
    if report.get("L0_mm") is not None:
        l0 = fmt("distance", report["L0_mm"], units, from_unit="mm")
        l0_sigma = fmt("distance", report["L0_sigma_mm"] or 0, units, from_unit="mm")
        lines.append(f"L0 [b]{l0}[/b] ± {l0_sigma} {unit('distance', units)}")
    return lines


def image_cells(row: dict, units: str = MM) -> tuple[str, ...]:
    """One per-image table row in ``units``; a doubtful image is marked with ! (not only by colour)."""
    flag = "" if row["verdict"] == "good" else "! "
    rot_spec = ".6f" if units == PONI else ".3f"  # 1 µrad either way
    rots = (fmt("rotation", row[f"rot{k}_mrad"], units, from_unit="mrad", sign=True, spec=rot_spec) for k in (1, 2, 3))
    return (Path(row["image"]).name, flag + row["verdict"], fmt("distance", row["dist_mm"], units, from_unit="mm"),
            f"{row['center_x']:.2f}", f"{row['center_y']:.2f}", *rots,
            fmt("angle", row["rms_2th_deg"], units, from_unit="°"))


def image_columns(units: str = MM) -> tuple[str, ...]:
    """The per-image table's headers in ``units``; the verdict second: at 80 columns the table
    shows it without scrolling."""
    return ("image", "verdict", header("dist", "distance", units), "x px", "y px",
            *(header(f"rot{k}", "rotation", units) for k in (1, 2, 3)), header("RMS", "angle", units))
