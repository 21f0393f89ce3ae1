"""ctrl+o: open an image by browsing or typing, seeing what each file is before opening it.

A modal with a path field (Tab completes like a shell, :mod:`calterm.tui.widgets.path_input`), a
directory tree showing only folders and the files calterm reads (:data:`IMAGE_SUFFIXES`: those of
:mod:`calterm.core.io.images` and fabio's formats), and the header facts of the highlighted file:
shape, dtype, and detector, wavelength, distance, centre and pixel size when the header names them
(:func:`calterm.core.io.headers.header_facts`). Reading a file can take seconds (a big HDF5 over
NFS), so the facts come from a worker, newest highlight wins, and the keyboard never waits.

Enter on a file (in the tree or the field) opens it; Enter on a folder in the field shows it in the
tree; esc cancels. The answer is the path, or None, as :class:`PromptScreen` gives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static

from calterm.core.io.images import HDF5_SUFFIXES, TIFF_SUFFIXES
from calterm.tui.core_imports import guarded
from calterm.tui.widgets.path_input import PathInput

# fabio's readers (their DEFAULT_EXTENSIONS, fabio 2024.9) that hold detector images, plus the
# formats calterm reads itself; .gz/.bz2 of any of them are read by fabio too
FABIO_SUFFIXES = {".cbf", ".edf", ".img", ".mccd", ".sfrm", ".spe", ".gfrm", ".kcd", ".msk", ".mask", ".cor",
                  ".f2d", ".mpa", ".mrc", ".dm3", ".esperanto", ".bin", ".pnm", ".pgm", ".pbm", ".spr", ".fei",
                  ".jp2", ".j2k", ".ge", ".ge2", ".ge5", ".raw", ".xrd"}
IMAGE_SUFFIXES = frozenset(TIFF_SUFFIXES | HDF5_SUFFIXES | FABIO_SUFFIXES | {".npy"})
COMPRESSED = (".gz", ".bz2")


def is_image_name(name: str) -> bool:
    """Whether calterm reads a file of this name (``x.cbf``, ``x.edf.gz``, ``x.mar3450``, ``x.0001``)."""
    lower = name.lower()
    for ext in COMPRESSED:
        if lower.endswith(ext):
            lower = lower[: -len(ext)]
    suffix = Path(lower).suffix
    return (suffix in IMAGE_SUFFIXES or suffix.startswith(".mar")
            or (suffix[1:].isdigit() and len(suffix) >= 4))  # numbered frames: run_01.0001 (ADSC, Bruker)


def describe_file(path: str) -> str:
    """What the file is, in one or two lines (read in a worker: it opens the file)."""
    from calterm.core.io.headers import header_facts
    from calterm.core.io.images import read_array

    data, _ = read_array(path)
    shape = data.shape
    size = f"{shape[-1]} x {shape[-2]} px (x × y)" if len(shape) >= 2 else f"shape {shape}"
    parts = [size, str(data.dtype)]
    if len(shape) == 3:
        parts.append(f"{shape[0]} frames")
    facts = header_facts(path)
    told = []
    if facts.detector:
        told.append(f"detector {facts.detector}")
    if facts.wavelength_A is not None:
        told.append(f"λ {facts.wavelength_A:.5g} Å")
    if facts.distance_mm is not None:
        told.append(f"distance {facts.distance_mm:.5g} mm")
    if facts.center_xy is not None:
        told.append(f"centre {facts.center_xy[0]:.1f}, {facts.center_xy[1]:.1f}")
    if facts.pixel_um is not None:
        told.append(f"pixel {facts.pixel_um:.4g} µm")
    header = f"header ({facts.source}): {', '.join(told)}" if told else "header: no geometry facts"
    return "  ".join(parts) + "\n" + header


class ImageTree(DirectoryTree):
    """Folders and image files only; hidden names left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and (_is_dir(p) or is_image_name(p.name))]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


class FileFacts(Message):
    """The worker's description of one file (``text``), or why it cannot be read (``error``)."""

    def __init__(self, path: str, text: str = "", error: str = "") -> None:
        super().__init__()
        self.path, self.text, self.error = path, text, error


class FileBrowser(ModalScreen[str | None]):
    DEFAULT_CSS = """
    FileBrowser { align: center middle; }
    FileBrowser > Vertical { width: 100; max-width: 100%; height: 22; max-height: 100%; border: round $accent;
                             background: $surface; padding: 0 1; }
    FileBrowser #title, FileBrowser #candidates, FileBrowser #facts, FileBrowser #keys { height: auto; }
    FileBrowser #candidates { max-height: 2; color: $text-muted; }
    FileBrowser #facts { height: 3; }
    FileBrowser #keys { color: $text-muted; }
    FileBrowser ImageTree { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str = "Open image", start: str = "", note: str = "") -> None:
        super().__init__()
        self.title_text, self.start, self.note = title, start, note
        self.facts_for = ""

    def _start_folder(self) -> Path:
        p = Path(self.start.split("::", 1)[0]).expanduser() if self.start else Path.cwd()
        folder = p if _is_dir(p) else p.parent
        return folder if _is_dir(folder) else Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"[b]{self.title_text}[/b]  [dim]{self.note}[/dim]", id="title")
            yield PathInput(value=self.start, id="answer", keep=is_image_name, compact=True)
            yield Static("", id="candidates", markup=False)
            yield ImageTree(self._start_folder(), id="tree")
            yield Static("", id="facts", markup=False)
            yield Static("tab completes · ↓ to the list · enter opens · esc cancels", id="keys")

    def on_mount(self) -> None:
        field = self.query_one(PathInput)
        field.focus()
        field.cursor_position = len(field.value)
        if self.start and Path(self.start).expanduser().is_file():
            self.show_facts(str(Path(self.start).expanduser()))

    # --- the path field -----------------------------------------------------------------------
    @on(PathInput.Completed)
    def _completed(self, event: PathInput.Completed) -> None:
        names = event.completion.candidates
        text = "no match" if not names else ("" if len(names) == 1 else f"{len(names)}: " + "  ".join(names))
        self.query_one("#candidates", Static).update(text[:300])
        target = Path(event.completion.text).expanduser()
        if len(names) == 1 and _is_dir(target):
            self.query_one(ImageTree).path = target
        elif target.is_file():
            self.show_facts(str(target))

    @on(PathInput.Submitted)
    def _submitted(self, event: PathInput.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.dismiss(None)
            return
        target = Path(text).expanduser()
        if _is_dir(target):  # a folder: browse it
            self.query_one(ImageTree).path = target
            self.query_one(ImageTree).focus()
            return
        self.dismiss(text)  # a file (or a missing one: the app says so in one line)

    def key_down(self) -> None:
        if self.focused is self.query_one(PathInput):
            tree = self.query_one(ImageTree)
            tree.focus()
            self._facts_of(tree.cursor_node)

    # --- the tree -----------------------------------------------------------------------------
    @on(DirectoryTree.NodeHighlighted)
    def _highlighted(self, event: DirectoryTree.NodeHighlighted) -> None:
        # only while the user is in the list: the tree's own first highlight (it loads after the
        # field's file showed its facts, later on a busy machine) must not replace those facts
        if self.focused is not self.query_one(ImageTree):
            return
        self._facts_of(event.node)

    def _facts_of(self, node) -> None:
        entry = node.data if node is not None else None
        if entry is None:
            return
        path = Path(entry.path)
        if not _is_dir(path):
            self.show_facts(str(path))
        else:
            self.query_one("#facts", Static).update(f"folder {path}")

    @on(DirectoryTree.FileSelected)
    def _selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(str(event.path))

    # --- facts, read in a worker ----------------------------------------------------------------
    def show_facts(self, path: str) -> None:
        self.facts_for = path
        self.query_one("#facts", Static).update(f"{Path(path).name}: reading…")
        self._read_facts(path)

    @work(thread=True, exclusive=True, group="file-facts")
    def _read_facts(self, path: str) -> None:
        try:
            text = guarded(lambda: describe_file(path))()
            self.post_message(FileFacts(path, text=text))
        except Exception as exc:  # a damaged or foreign file: one line, the browser stays usable
            self.post_message(FileFacts(path, error=str(exc)))

    def on_file_facts(self, message: FileFacts) -> None:
        if message.path != self.facts_for:  # an older highlight's answer
            return
        text = message.text or f"cannot read: {message.error}"
        self.query_one("#facts", Static).update(f"{Path(message.path).name}: {text}")

    def action_cancel(self) -> None:
        self.dismiss(None)
