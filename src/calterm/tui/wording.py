"""The engine's hints in the app's language: the field or key to use, not the CLI flag.

The engine's errors are shared by both faces and name the CLI's flags ("give --detector NAME or
--pixel-size UM"), which mean nothing inside the app. The translation is done here, at the face,
so the engine keeps one message and the CLI keeps its exact wording: every job failure passes
through :func:`in_app_words` (:mod:`calterm.tui.workers`), as do the lines the screens show from
an engine error. A flag with no entry below still reads as a field ("--bins" -> "the bins field"),
never as a flag.
"""

from __future__ import annotations

import re

# flag (with its metavar, as the engine writes it) -> what to use in the app; longest first
FLAG_WORDS: dict[str, str] = {
    "--detector NAME": "the Detector field (d: list)",
    "--detector": "the Detector field (d: list)",
    "--pixel-size UM": "the Pixel size µm field",
    "--pixel-size": "the Pixel size µm field",
    "--distance MM --fix dist": "the Distance mm field, then fix dist on screen 3",
    "--distance MM": "the Distance mm field",
    "--distance": "the Distance mm field",
    "--center X,Y": "the Centre x, y px field",
    "--center": "the Centre x, y px field",
    "--wavelength": "the Wavelength Å field",
    "--energy": "the Energy keV field",
    "--calibrant": "the Calibrant field (l: list)",
    "--spline": "the Spline file field",
    "--fit-distortion": "the distortion fit (screen 3)",
    "--peak-method spokes or massif": "another peak method (screen 3)",
    "--fix dist": "fix dist on screen 3",
    "--poni": "the PONI field",
    "--flip": "the Flip field",
    "--force": "the Force box",
    "--range": "the 2θ range field",
}
_FLAG = re.compile(r"--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?: [A-Z][A-Z,_]*\b)?")


def in_app_words(text: str) -> str:
    """``text`` with every CLI flag replaced by the field or key the app uses for it."""
    if "--" not in text:
        return text
    text = re.sub(r"\b(?:give|type) (?=--)", "fill ", text)
    for flag in sorted(FLAG_WORDS, key=len, reverse=True):
        text = re.sub(re.escape(flag) + r"(?![a-z-])", FLAG_WORDS[flag], text)
    return _FLAG.sub(lambda m: f"the {m.group(1).replace('-', ' ')} field", text)
