"""`calterm history NAME [--restore K] [--json]`: the versions of a calibration file and their log.

Every calterm writer keeps ``NAME.vK.EXT`` versions with ``NAME.EXT`` pointing at the current one
(see :mod:`calterm.core.io.versions`); going back is one atomic link change, itself logged.
"""

from __future__ import annotations

from pathlib import Path

from calterm.cli.common import print_json
from calterm.core.io.writer import list_versions, read_log, set_current, version_path
from calterm.errors import InputError


def add_parser(sub):
    p = sub.add_parser("history", help="list the versions of a calibration file, or go back to one")
    p.add_argument("name", metavar="NAME", help="the file as written (e.g. calib.poni, mask.edf)")
    p.add_argument("--restore", type=int, metavar="K", help="make version K current again")
    p.add_argument("--json", action="store_true", help="print versions and log as JSON")
    return p


def _check_restore(target: Path, number: int) -> None:
    """Before the link changes: the version exists and the link and its log can be written there."""
    from calterm.core.io.writer import OUTPUT_SUFFIXES, preflight

    if not version_path(target, number).is_file():
        raise InputError(f"{target}: no version {number}")
    kind = next((k for k, suffixes in OUTPUT_SUFFIXES.items() if target.suffix.lower() in suffixes), None)
    if kind is None:
        raise InputError(f"{target}: calterm writes no {target.suffix or 'suffix-less'} files; nothing to restore")
    preflight(target, kind)


def run(args) -> int:
    target = Path(args.name)
    versions = list_versions(target)
    if not versions:
        raise InputError(f"{target}: no versions found (files named {target.stem}.vK{target.suffix})")
    if args.restore is not None:
        _check_restore(target, args.restore)
        set_current(target, args.restore, command=f"calterm history --restore {args.restore}")
        versions = list_versions(target)
    log = read_log(target)
    latest = {}
    for record in log:  # the record that wrote each version (restores only re-point it)
        if not str(record.get("command", "")).startswith("calterm history --restore"):
            latest.setdefault(record.get("version"), record)
    rows = [{"version": v.number, "path": str(v.path), "current": v.current,
             "time": latest.get(v.path.name, {}).get("time"),
             "command": latest.get(v.path.name, {}).get("command"),
             "inputs": latest.get(v.path.name, {}).get("inputs")} for v in versions]
    if args.json:
        print_json({"name": str(target), "versions": rows, "log": log})
        return 0
    if args.restore is not None:
        print(f"{target} -> {target.stem}.v{args.restore}{target.suffix}")
    for row in rows:
        mark = "*" if row["current"] else " "
        print(f"{mark} v{row['version']:<4} {row['time'] or '-':<25} {row['command'] or '(written by another tool)'}")
    if log:
        print(f"log ({target.name}.log):")
        for record in log:
            print(f"  {record.get('time', '-'):<25} {record.get('version', '-'):<20} {record.get('command', '')}")
    return 0
