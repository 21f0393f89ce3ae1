"""The scriptable face: ``calterm SUBCOMMAND ...`` -> core calls.

Each subcommand lives in its own module under ``calterm.cli`` exposing ``add_parser(subparsers)``
and ``run(args) -> int``; modules are discovered, so adding a subcommand touches no shared file.
``calterm`` alone, ``calterm IMAGE`` and ``calterm --resume`` open the terminal app (the ``tui``
subcommand). Errors reach the user as one line on
stderr with exit 2 (bad usage/input) or 1 (computation failed or doubtful); ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback

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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (``only``) the parser of one subcommand: importing every subcommand
    module costs ~0.3 s, which a single command (and the TUI's start-up) should not pay."""
    parser = _Parser(prog="calterm", description="Calibrate X-ray area detectors from a terminal.")
    parser.add_argument("--version", action="version", version=f"calterm {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = set(subcommand_modules())  # a subcommand is named like its module
    if "tui" in commands and (not argv or argv[0] == "--resume" or (argv[0] not in commands and not argv[0].startswith("-"))):
        argv = ["tui", *argv]  # `calterm`, `calterm IMAGE`, `calterm --resume` open the app
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in commands else None)
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
