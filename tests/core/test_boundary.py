"""The core must stay importable without the TUI (beamline scripts use it headless)."""

import subprocess
import sys


def test_core_does_not_import_textual():
    code = (
        "import sys, pkgutil, importlib, calterm.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'calterm.core.'): importlib.import_module(m.name)\n"
        "import calterm.cli\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
