"""The engine stays usable without a face (beamline scripts use it headless): core never imports a
UI library (textual, rich, plotext) or a face (calterm.cli, calterm.tui, calterm.inputs).

Two checks, because each misses what the other sees. The static one reads every core module's
source: an import anywhere, inside a function included, fails it, whether or not a test runs that
function. The run-time one runs the engine's commands with those modules made unimportable, so an
import the source does not spell out (``importlib.import_module(name)``) fails it too.
The import-linter contracts in pyproject.toml say the same for the whole package (``lint-imports``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import calterm.core

CORE = Path(calterm.core.__file__).parent
FORBIDDEN = ("textual", "textual_plotext", "rich", "plotext", "calterm.tui", "calterm.cli", "calterm.inputs")


def _module_name(path: Path, core: Path) -> str:
    parts = path.relative_to(core.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, core: Path = CORE) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, relative ones resolved, and of every
    ``import_module("...")`` / ``__import__("...")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path, core)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(node.lineno, module)] + [(node.lineno, f"{module}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")):
            found.append((node.lineno, node.args[0].value))
    return found


def forbidden_imports(root: Path = CORE) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        for line, name in imported_names(path, root):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(root.parent)}:{line}: imports {name}")
    return bad


def test_no_core_module_imports_a_ui_or_a_face_anywhere_in_its_source():
    assert len(list(CORE.rglob("*.py"))) > 40  # the walk really reads the engine
    assert forbidden_imports() == []


def test_the_static_check_sees_function_level_and_relative_imports(tmp_path):
    fake = tmp_path / "calterm" / "core" / "fake"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "mod.py").write_text(
        "import numpy\n"
        "def show():\n    from textual.app import App\n    return App\n"
        "def later():\n    import importlib\n    return importlib.import_module('rich.console')\n"
        "from ...tui import app\n"
    )
    bad = forbidden_imports(tmp_path / "calterm" / "core")
    assert sorted(b.rsplit(": imports ", 1)[1] for b in bad) == ["calterm.tui", "calterm.tui.app", "rich.console",
                                                                 "textual.app", "textual.app.App"]


RUN_ENGINE = """
import importlib, importlib.abc, pkgutil, sys
FORBIDDEN = {forbidden!r}

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            raise ImportError(f"the engine imported {{name}}")
        return None

sys.meta_path.insert(0, Refuse())
import calterm.core as core
for m in pkgutil.walk_packages(core.__path__, "calterm.core."):
    importlib.import_module(m.name)

# one real run of calibrate, circle and dark on small images: function-level imports happen here
import pathlib
import numpy as np
from calterm.core.calibrate.model import CalibrationRequest
from calterm.core.calibrate.pipeline import calibrate, write_poni
from calterm.core.circle.fit import fit_ring
from calterm.core.common.geometry import PoniGeometry
from calterm.core.health.dark import compute_dark
from calterm.core.io.images import write_image
from calterm.core.simulate.powder import SyntheticCase, render
from calterm.core.simulate.single_ring import SingleRingCase, render_single_ring
tmp = pathlib.Path({tmp!r})
truth = PoniGeometry(dist=0.05, poni1=0.0128, poni2=0.0121, wavelength=0.5e-10)
image, _ = render(SyntheticCase(None, "CeO2", truth, shape=(256, 256), pixel_size_um=100, seed=1))
write_image(tmp / "ceo2.tif", image.astype(np.float32))
result = calibrate(CalibrationRequest(str(tmp / "ceo2.tif"), "CeO2", truth.wavelength, pixel_size_um=100.0,
                                      distance_mm=52.0))
write_poni(result, tmp / "ceo2.poni")
fit_ring(render_single_ring(SingleRingCase(shape=(128, 128), center=(60.3, 66.7), distance_mm=150.0)))
for k in range(3):
    write_image(tmp / f"dark_{{k}}.tif", np.full((16, 16), float(k), np.float32))
compute_dark(sorted(str(f) for f in tmp.glob("dark_*.tif")))
print(sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)))
"""


def test_engine_runs_with_ui_libraries_and_faces_unimportable(tmp_path):
    code = RUN_ENGINE.format(forbidden=FORBIDDEN, tmp=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
