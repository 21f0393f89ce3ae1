"""`calterm --help` lists every subcommand with the help its own parser gives, and imports none of
their modules (nor numpy, pyFAI, scipy, dask): start-up by design, checked without timing."""

from __future__ import annotations

import subprocess
import sys

from calterm.cli import build_parser, overview_parser, subcommand_modules, verb


def _choices(parser) -> dict[str, str]:
    sub = next(a for a in parser._actions if a.dest == "command")
    return {action.dest: action.help for action in sub._choices_actions}


def test_overview_help_is_the_full_parsers_help():
    overview, full = _choices(overview_parser()), _choices(build_parser())
    assert overview == full
    assert set(overview) == {verb(m) for m in subcommand_modules()} - {"common"} and "circle" in overview
    assert "calibrate-many" in overview  # a module's verb: its name with - for _


def test_help_and_version_import_no_subcommand_and_no_heavy_library():
    code = (
        "import sys, contextlib, io\n"
        "from calterm.cli import main\n"
        "for argv in (['--help'], ['--version']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try: main(argv)\n"
        "        except SystemExit: pass\n"
        "heavy = ('numpy', 'scipy', 'pyFAI', 'dask', 'fabio', 'h5py', 'textual')\n"
        "print(sorted(m for m in sys.modules if m.startswith('calterm.cli.') or m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_circle_command_imports_neither_scipy_nor_pyfai(tmp_path):
    """The single-ring fit runs on numpy alone (core.common.sampling): `calterm circle` does not pay
    scipy.ndimage's ~0.15 s or pyFAI's ~1.5 s import."""
    import numpy as np

    from calterm.core.io.images import write_image
    from calterm.core.simulate.single_ring import SingleRingCase, render_single_ring

    path = tmp_path / "ring.tif"
    case = SingleRingCase(shape=(256, 256), center=(120.3, 131.7), distance_mm=300.0)
    write_image(path, render_single_ring(case).astype(np.float32))
    code = (
        "import sys, contextlib, io\n"
        "from calterm.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['circle', {str(path)!r}, '--json'])\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('scipy', 'pyFAI', 'dask')}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr
