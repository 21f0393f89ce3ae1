"""The shipped themes: JSON files in ``themes/`` (packaged as ``calterm/themes``), one Textual
:class:`~textual.theme.Theme` each. Data files rather than Python so a site can add its own theme
by dropping a file beside them; ``calterm-contrast`` uses only colours of the 16-colour palette so it
reads the same on a bare xterm over SSH.
"""

from __future__ import annotations

import json
from pathlib import Path

from textual.theme import Theme

DEFAULT_THEME = "calterm-dark"
_FIELDS = ("name", "primary", "secondary", "warning", "error", "success", "accent", "foreground",
           "background", "surface", "panel", "boost", "dark", "luminosity_spread", "text_alpha", "variables")


def themes_dirs() -> list[Path]:
    """Installed wheel: ``calterm/themes``; source checkout: the repository's ``themes/``."""
    here = Path(__file__).resolve()
    return [d for d in (here.parents[1] / "themes", here.parents[3] / "themes") if d.is_dir()]


def load_themes() -> list[Theme]:
    found: dict[str, Theme] = {}
    for directory in themes_dirs():
        for path in sorted(directory.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                theme = Theme(**{k: v for k, v in doc.items() if k in _FIELDS})
            except (OSError, ValueError, TypeError):
                continue  # a broken site theme must not stop the app
            found.setdefault(theme.name, theme)
    return list(found.values())
