"""The scriptable face: ``calterm SUBCOMMAND ...`` -> core calls.

Each subcommand lives in its own module under ``calterm.cli`` exposing ``add_parser(subparsers)``
and ``run(args) -> int``; modules are discovered, so adding a subcommand touches no shared file.
Start-up is part of the design: ``calterm --help`` imports no subcommand module (each one's one-line
help is read from its source, see :func:`subcommand_help`), and ``calterm COMMAND`` imports only
that command's module, which imports the heavy libraries (pyFAI, scipy, dask) only where it needs them.
``calterm`` alone, ``calterm IMAGE`` and ``calterm --resume`` open the terminal app (the ``tui``
subcommand). Errors reach the user as one line on
stderr with exit 2 (bad usage/input) or 1 (computation failed or doubtful); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import logging
import pkgutil
import re
import sys
import traceback
from pathlib import Path

from calterm import __version__
from calterm.errors import CaltermError


def subcommand_modules() -> list[str]:
    """Modules of this package that define a subcommand (``add_parser`` and ``run``)."""
    import calterm.cli as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name not in ("common",))


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (exit 2), without the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"calterm: error: {message} (see `{self.prog} --help`)\n")


def verb(module: str) -> str:
    """The subcommand a module defines: its name with ``-`` for ``_`` (``calibrate_many`` -> ``calibrate-many``)."""
    return module.replace("_", "-")


def subcommand_help(name: str) -> str | None:
    """The one-line help of subcommand ``name``, read from the ``help=`` of its module's
    ``add_parser("name", help=...)`` call without importing the module (importing them all would
    cost ``calterm --help`` ~0.2 s of numpy/pyFAI imports). None when it is not a plain string there
    (or the module defines no ``add_parser``): the caller then imports the module."""
    source = (Path(__file__).parent / f"{name}.py").read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_parser"
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == verb(name)):
            for keyword in node.keywords:
                if keyword.arg == "help" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return None


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = _Parser(prog="calterm", description="Calibrate X-ray area detectors from a terminal.")
    parser.add_argument("--version", action="version", version=f"calterm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)


def overview_parser() -> argparse.ArgumentParser:
    """The top-level parser for ``calterm --help`` / ``--version``: every subcommand listed with its
    one-line help, none of their modules imported (a module whose help is not a plain string is)."""
    parser, sub = _top_parser()
    for name in subcommand_modules():
        text = subcommand_help(name)
        if text is not None:
            sub.add_parser(verb(name), help=text)
        else:
            module = importlib.import_module(f"calterm.cli.{name}")
            if hasattr(module, "add_parser"):
                module.add_parser(sub)
    return parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) the parser of one subcommand: importing every subcommand
    module costs ~0.3 s, which a single command (and the TUI's start-up) should not pay."""
    parser, sub = _top_parser()
    for name in subcommand_modules():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"calterm.cli.{name}")
        if not hasattr(module, "add_parser"):
            continue
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


# A value that starts like a negative number and holds a comma: ``-72.4,549.2``, ``-10,5@2``,
# ``-5,`` (an open range). argparse takes it for an option ("expected one argument"): it only
# knows plain negative numbers (``-72.4``) as values.
_NEGATIVE_PAIR = re.compile(r"-\.?\d[^=\s]*[,;].*")


def join_negative_values(argv: list[str]) -> list[str]:
    """``--center -72.4,549.2`` -> ``--center=-72.4,549.2`` for every long option followed by a
    negative coordinate pair or range, so a beam centre off the detector can be typed like any
    other (every X,Y and LO,HI option of every subcommand, present and future). A token after
    ``--`` is left alone."""
    out: list[str] = []
    for token in argv:
        prev = out[-1] if out else ""
        if ("--" not in out and prev.startswith("--") and len(prev) > 2 and "=" not in prev
                and _NEGATIVE_PAIR.fullmatch(token)):
            out[-1] = f"{prev}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = join_negative_values(list(sys.argv[1:] if argv is None else argv))
    commands = {verb(m) for m in subcommand_modules()}  # a subcommand is named like its module
    if "tui" in commands and (not argv or argv[0] == "--resume" or (argv[0] not in commands and not argv[0].startswith("-"))):
        argv = ["tui", *argv]  # `calterm`, `calterm IMAGE`, `calterm --resume` open the app
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen.replace("-", "_")) if chosen in commands else overview_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    if not args.debug:
        # Libraries log their own warnings (deprecations, corrupt-file notes); the user gets our
        # one-line message instead. --debug keeps them.
        for name in ("pyFAI", "fabio", "tifffile", "silx", "h5py", "numexpr"):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # `calterm ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    except CaltermError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"calterm: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("calterm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(f"calterm: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return 1
