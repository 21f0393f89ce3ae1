"""A beam centre off the detector, a point left of column 0, a range below zero: every X,Y and
LO,HI option of every subcommand takes a value that starts with a minus sign (argparse alone
answers ``--center -72.4,549.2`` with "expected one argument")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calterm.cli import build_parser, main, subcommand_modules

try:
    from calterm.cli import join_negative_values
except ImportError:  # the code before the fix: argv reaches argparse as typed
    def join_negative_values(argv):
        return list(argv)


def _subparser(name: str):
    top = build_parser(name)
    return top._subparsers._group_actions[0].choices[name]


def _pair_options():
    """(subcommand, option) for every option whose metavar is a comma pair (X,Y, LO,HI, ...)."""
    found = []
    for name in subcommand_modules():
        try:
            sub = _subparser(name)
        except KeyError:
            continue
        for action in sub._actions:
            if action.option_strings and isinstance(action.metavar, str) and "," in action.metavar \
                    and "=" not in action.metavar and "..." not in action.metavar:
                found.append((name, max(action.option_strings, key=len)))
    return found


def _minimal_argv(name: str, skip: str) -> list[str]:
    """The subcommand with a value for each required positional and option (other than ``skip``)."""
    sub = _subparser(name)
    argv = [name]
    for action in sub._actions:
        if not action.option_strings and action.dest != "help":
            argv.append("image.tif")
    for group in sub._mutually_exclusive_groups:
        if group.required:
            argv += [group._group_actions[0].option_strings[-1], "1"]
    for action in sub._actions:
        if action.option_strings and action.required and skip not in action.option_strings:
            argv += [action.option_strings[-1], "1,1"]
    return argv


PAIRS = _pair_options()


def test_every_xy_option_is_found():
    """The sweep below covers the options the issue names (and the others)."""
    assert ("calibrate", "--center") in PAIRS and ("calibrate", "--point") in PAIRS
    assert ("circle", "--point") in PAIRS and ("circle", "--fixed-center") in PAIRS
    assert ("align", "--center") in PAIRS and ("tui", "--center") in PAIRS


@pytest.mark.parametrize(("name", "option"), PAIRS)
def test_negative_pair_parses_like_the_equals_form(name, option):
    sub_argv = _minimal_argv(name, option)
    parser = build_parser(name)
    value = "-72.4,549.2" if "RING" not in option else "-10,5@2"
    spaced = parser.parse_args(join_negative_values([*sub_argv, option, value]))
    joined = parser.parse_args([*sub_argv, f"{option}={value}"])
    dest = option.lstrip("-").replace("-", "_")
    assert getattr(spaced, dest) == getattr(joined, dest)
    assert value in str(getattr(spaced, dest))


def test_plain_values_untouched():
    argv = ["calibrate", "img.tif", "--center", "10,5", "--distance", "-3", "--", "-1,2"]
    assert join_negative_values(argv) == argv
    assert join_negative_values(["circle", "x", "--point", "-10,5", "--point", "-3,-4"]) == \
        ["circle", "x", "--point=-10,5", "--point=-3,-4"]


def test_circle_fixed_centre_off_the_detector(tmp_path, capsys):
    """The whole command: a ring whose centre lies 40 px left of column 0, centre typed negative."""
    from calterm.core.io.images import write_image

    yy, xx = np.mgrid[0:120, 0:160]
    centre = (-40.0, 60.0)
    radius = 110.0
    image = 10.0 + 1000.0 * np.exp(-0.5 * ((np.hypot(xx - centre[0], yy - centre[1]) - radius) / 1.5) ** 2)
    path = tmp_path / "ring.tif"
    write_image(path, image.astype(np.float32))
    points = ["70.00,60.00", "63.37,97.62", "63.37,22.38", "57.12,111.64", "57.12,8.36"]
    code = main(["circle", str(path), "--fixed-center", "-40,60", "--json",
                 *(arg for p in points for arg in ("--point", p))])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["center"] == [-40.0, 60.0]
    assert doc["radius"] == pytest.approx(radius, abs=0.3)


def test_the_apps_fields_take_negative_coordinates(tmp_path):
    """The app's fields go through the same parsers (calterm.inputs): no argparse there, so a
    negative centre, point or fixed centre is read as typed."""
    from calterm.core.calibrate.model import CalibrationRequest
    from calterm.inputs.calibrate import calibration_request
    from calterm.inputs.circle import circle_request

    base = CalibrationRequest(str(tmp_path / "x.tif"), "LaB6", 1e-10)
    new = calibration_request({"center": "-72.4, 549.2", "point": ["-10,5@2"]}, base=base)
    assert new.center_xy == (-72.4, 549.2) and (new.points[0].x, new.points[0].y, new.points[0].ring) == (-10, 5, 2)
    assert circle_request({"fixed_center": "-40;60"}).fixed_center == (-40.0, 60.0)
