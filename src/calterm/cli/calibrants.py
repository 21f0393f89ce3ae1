"""`calterm calibrants [NAME] [--json]`: list calibrants (pyFAI's and the user's), or show one's
d-spacings."""

from __future__ import annotations

from calterm.cli.common import print_json
from calterm.core.common import calibrants


def add_parser(sub):
    p = sub.add_parser("calibrants", help="list pyFAI's calibrants and the user's, or show one")
    p.add_argument("name", nargs="?", help="a calibrant name or d-spacing file: print its d-spacings (Å)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return p


def run(args) -> int:
    if args.name:
        cal = calibrants.load_calibrant(args.name)
        if args.json:
            print_json({"name": cal.name, "source": cal.source, "note": cal.note,
                        "d_spacings_A": list(cal.d_spacings_A)})
            return 0
        print(f"# {cal.name} ({cal.source}): {len(cal.d_spacings_A)} distinct d-spacings, Å")
        print("\n".join(f"{d:.6f}" for d in cal.d_spacings_A))
        return 0
    rows = [{"name": n, "source": "pyFAI"} for n in calibrants.registered_names()]
    folder = calibrants.user_calibrant_dir()
    if folder.is_dir():
        rows += [{"name": p.stem, "source": str(p)} for p in sorted(folder.glob("*.D"))]
    if args.json:
        print_json({"calibrants": rows})
    else:
        print("\n".join(r["name"] + ("" if r["source"] == "pyFAI" else " (user)") for r in rows))
    return 0
