"""A path field that completes like a shell: Tab extends the text to the longest common prefix of
the matching names and lists them when several remain (directories end in ``/``).

Every prompt of the app that asks for a file (open an image, save a PONI, export a CSV, the output
folder) uses it, so a path is never typed in full. Completion reads one directory listing on the
event loop: a single ``scandir``, capped at :data:`MAX_LISTED` entries (a run of 20,000 frames: 10 ms,
40 ms when 10,000 of them match); what a file *contains* is read elsewhere, in a worker
(:mod:`calterm.tui.screens.file_browser`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

MAX_LISTED = 20_000  # names read from one directory for a completion (~40 ms on a local disk)


@dataclass(frozen=True)
class Completion:
    """The completed text and the names that matched (empty when none did)."""

    text: str
    candidates: tuple[str, ...]


def complete_path(text: str, keep: Callable[[str], bool] | None = None, dirs_only: bool = False) -> Completion:
    """Complete ``text`` as a shell would.

    ``keep(name)`` says which files may be offered (directories always are, unless hidden);
    ``dirs_only`` offers directories only. One match completes in full (a directory gains ``/``);
    several extend to their common prefix. Hidden names are offered only once ``.`` is typed. The
    text keeps its own spelling (``~``, relative parts): only the last part is completed."""
    head, _, prefix = text.rpartition("/")
    folder = Path(os.path.expanduser(head + "/" if head or text.startswith("/") else ".")) if text else Path(".")
    matches: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if n >= MAX_LISTED:
                    break
                name = entry.name
                if not name.startswith(prefix) or (name.startswith(".") and not prefix.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir:
                    matches.append(name + "/")
                elif not dirs_only and (keep is None or keep(name)):
                    matches.append(name)
    except OSError:
        return Completion(text, ())
    matches.sort()
    if not matches:
        return Completion(text, ())
    stem = matches[0] if len(matches) == 1 else os.path.commonprefix(matches)
    base = head + "/" if head or text.startswith("/") else ""
    return Completion(base + stem, tuple(matches))


class PathInput(Input):
    """An Input whose Tab completes the path (see :func:`complete_path`) and posts the candidates."""

    BINDINGS = [Binding("tab", "complete", "Complete", show=False)]
    TAB_COMPLETES = True  # the app's priority Tab (next field) hands the key to this field

    class Completed(Message):
        def __init__(self, path_input: PathInput, completion: Completion) -> None:
            super().__init__()
            self.path_input, self.completion = path_input, completion

    def __init__(self, *args, keep: Callable[[str], bool] | None = None, dirs_only: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keep, self.dirs_only = keep, dirs_only

    def action_complete(self) -> None:
        done = complete_path(self.value, self.keep, self.dirs_only)
        if done.text != self.value:
            self.value = done.text
        self.cursor_position = len(self.value)
        self.post_message(self.Completed(self, done))
