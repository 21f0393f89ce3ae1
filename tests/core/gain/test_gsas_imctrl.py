"""GSAS-II .imctrl files: safe parsing and the same 2θ map as the equivalent PONI geometry."""

import math

import numpy as np
import pytest

from calterm.core.common.geometry import PoniGeometry, load_poni, max_tth_error_deg, poni_text
from calterm.core.gain.gsas_imctrl import imctrl_to_geometry, load_imctrl, parse_imctrl
from calterm.errors import InputError

# What GSAS-II's WriteControls produces under numpy 2 (np.float64 reprs inside lists).
IMCTRL = """type:PWDR
color:Paired
wavelength:np.float64(0.1839)
calibrant:CeO2
distance:{distance}
center:[np.float64({cx}), np.float64({cy})]
Oblique:[0.5, False]
tilt:np.float64({tilt})
rotation:{rotation}
azmthOff:0.0
fullIntegrate:True
LRazimuth:[0.0, 360.0]
IOtth:[np.float64(0.5), np.float64(12.0)]
outChannels:2500
invert_x:False
invert_y:False
DetDepth:0.0
varyList:{{'dist': True, 'det-X': True, 'det-Y': True, 'tilt': True, 'phi': True, 'dep': False, 'wave': False}}
binType:2-theta
PolaVal:[np.float64(0.99), False]
SampleAbs:[0.0, False]
dark image:['', np.float64(-1.0)]
twoth:0.0
"""


def _detector():
    import pyFAI.detectors

    return pyFAI.detectors.Detector(pixel1=172e-6, pixel2=172e-6, max_shape=(407, 487))


def _gsas_tth_deg(rows, cols, c, px_mm):
    """GSAS-II's GetTthAzmG2 (no penetration term), in float64: pixel centres at (i + 0.5) x size."""
    def rot(angle, axis):
        cs, sn = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        m = np.array([[1, 0, 0], [0, cs, -sn], [0, sn, cs]])
        return np.roll(np.roll(m, axis, 0), axis, 1)

    x, y = (cols + 0.5) * px_mm, (rows + 0.5) * px_mm
    dist = c["distance"] / math.cos(math.radians(c["tilt"]))
    mn = -np.inner(rot(c["rotation"], 2), rot(c["tilt"], 0))
    dx, dy = x - c["center"][0], y - c["center"][1]
    dz = (np.stack([dx, dy, np.zeros_like(dx)], -1) @ mn)[..., 2]
    return np.degrees(np.arctan2(np.sqrt(dx**2 + dy**2 - dz**2), dist - dz))


def test_parser_unwraps_numpy_reprs_and_keeps_strings():
    c = parse_imctrl(IMCTRL.format(distance="np.float64(1002.5)", cx=40.1, cy=35.2, tilt=0.0, rotation=0.0))
    assert c["distance"] == 1002.5 and c["center"] == [40.1, 35.2]
    assert c["calibrant"] == "CeO2" and c["binType"] == "2-theta"
    assert c["PolaVal"] == [0.99, False] and c["varyList"]["dist"] is True
    assert c["dark image"] == ["", -1.0]


def test_parser_never_evaluates(tmp_path):
    marker = tmp_path / "pwned"
    text = IMCTRL.format(distance=f"__import__('pathlib').Path({str(marker)!r}).touch()", cx=1, cy=1, tilt=0, rotation=0)
    c = parse_imctrl(text)
    assert isinstance(c["distance"], str) and not marker.exists()
    with pytest.raises(InputError, match="distance must be a number"):
        imctrl_to_geometry(c, _detector())


def test_untilted_file_gives_the_same_two_theta_map_as_its_poni(tmp_path):
    det = _detector()
    path = tmp_path / "pos1.imctrl"
    path.write_text(IMCTRL.format(distance="1002.5", cx=40.1, cy=35.2, tilt=0.0, rotation=0.0))
    geometry, _ = load_imctrl(path, det)
    poni = tmp_path / "pos1.poni"  # the equivalent PONI, written by hand from the same numbers
    poni.write_text(poni_text(PoniGeometry(1.0025, 0.0352, 0.0401, 0, 0, 0, 0.1839e-10), det))
    reference, _ = load_poni(str(poni))
    assert max_tth_error_deg(geometry, reference, det, det.shape, step=4) < 1e-4
    assert geometry.wavelength == pytest.approx(0.1839e-10)


@pytest.mark.parametrize(("tilt", "rotation"), [(0.6, 0.0), (0.45, 37.0), (-0.8, 145.0), (1.2, 260.0)])
def test_tilted_file_matches_gsas_two_theta(tilt, rotation):
    det = _detector()
    text = IMCTRL.format(distance="np.float64(250.0)", cx=41.3, cy=30.7, tilt=tilt, rotation=f"np.float64({rotation})")
    controls = parse_imctrl(text)
    geometry = imctrl_to_geometry(controls, det)
    rows, cols = np.mgrid[0 : det.shape[0] : 5, 0 : det.shape[1] : 5].astype(float)
    ours = np.degrees(geometry.to_pyfai(det).tth(rows.ravel(), cols.ravel()))
    gsas = _gsas_tth_deg(rows.ravel(), cols.ravel(), controls, 0.172)
    assert np.max(np.abs(ours - gsas)) < 1e-4
    assert abs(geometry.rot1) + abs(geometry.rot2) > 1e-3  # the tilt really reached the PONI


def test_uncalibrated_or_unsupported_files_are_refused(tmp_path):
    det = _detector()
    with pytest.raises(InputError, match="missing"):
        imctrl_to_geometry(parse_imctrl("type:PWDR\nwavelength:0.2\n"), det)
    arm = parse_imctrl(IMCTRL.format(distance=250, cx=1, cy=1, tilt=0, rotation=0).replace("twoth:0.0", "twoth:15.0"))
    with pytest.raises(InputError, match="2θ arm"):
        imctrl_to_geometry(arm, det)
    with pytest.raises(InputError, match="cannot read|no such"):
        load_imctrl(tmp_path / "missing.imctrl", det)


@pytest.mark.parametrize("hostile", [
    "np.float64(" + " " * 8000,  # the cubic case of the old regex: an unclosed wrapper and spaces
    "[np.float64(" + " " * 4000 + "1" + " " * 4000,
    "'" + "\\\\" * 4000 + "(" * 100,
    "(" * 8000,
    "[" + "np.float64( " * 700,
], ids=["unclosed-wrapper-spaces", "wrapper-padded", "escapes-parens", "open-parens", "many-wrappers"])
def test_hostile_long_lines_read_in_linear_time(hostile):
    """An 8 kB corrupt line took minutes with the old regex; now well under a second, kept a string."""
    import time

    text = IMCTRL.format(distance=250, cx=1, cy=1, tilt=0, rotation=0) + f"corrupt:{hostile}\n"
    start = time.perf_counter()
    controls = parse_imctrl(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.2
    assert controls["corrupt"] == hostile.strip() and controls["distance"] == 250


def test_linear_reader_keeps_the_literals():
    c = parse_imctrl("a:[np.float64(1.5), np.int64( 3 ), np.True_, None, ('x(y)', \"it's\")]\n"
                     "b:{'k': (1, 2)}\nc:np.float32(2.5)\nd:os.system('x')\ne:np.float64(1\n")
    assert c["a"] == [1.5, 3, True, None, ["x(y)", "it's"]]
    assert c["b"] == {"k": [1, 2]} and c["c"] == 2.5
    assert c["d"] == "os.system('x')" and c["e"] == "np.float64(1"
