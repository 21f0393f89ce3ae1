"""`calterm calibrants [NAME]`: list calibrants, or show one's d-spacings."""

from __future__ import annotations

from calterm.core.common import calibrants


def add_parser(sub):
    p = sub.add_parser("calibrants", help="list pyFAI's calibrants and the user's, or show one")
    p.add_argument("name", nargs="?", help="a calibrant name or d-spacing file: print its d-spacings (Å)")
    return p


def run(args) -> int:
    if args.name:
        cal = calibrants.load_calibrant(args.name)
        print(f"# {cal.name} ({cal.source}): {len(cal.d_spacings_A)} distinct d-spacings, Å")
        print("\n".join(f"{d:.6f}" for d in cal.d_spacings_A))
        return 0
    names = calibrants.registered_names()
    folder = calibrants.user_calibrant_dir()
    if folder.is_dir():
        names += sorted(f"{p.stem} (user)" for p in folder.glob("*.D"))
    print("\n".join(names))
    return 0
