"""What every screen shares: the session line and the screen tabs on top, the job line and the keys
at the bottom, a refresh whenever the session changes (the app publishes what changed), image
previews read off the event loop, delivered as a typed :class:`PreviewLoaded` message, and the
rule that keys which place points act only on the image view that has focus.

Keys with no focus: digits switch screens (as the tab bar shows), but ``enter``, ``=`` and ``a``
never place a point unless the image view has focus (a number typed with no field focused must
not end in a point at the cursor); the footer shows them dimmed until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from calterm.tui.core_imports import guarded
from calterm.tui.preview_data import image_key, ring_geometry, ring_model
from calterm.tui.widgets.job_bar import JobBar
from calterm.tui.widgets.session_bar import SessionBar
from calterm.tui.widgets.tab_bar import TabBar

if TYPE_CHECKING:
    from calterm.tui.preview_data import PreviewImage, RingModel
    from calterm.tui.session import Session


class PreviewLoaded(Message):
    """A preview worker's output: the image, then its predicted rings, or why it cannot be shown."""

    def __init__(self, image: PreviewImage | None = None, rings: RingModel | None = None,
                 error: str | None = None) -> None:
        super().__init__()
        self.image, self.rings, self.error = image, rings, error


class CaltermScreen(Screen):
    MODE = ""
    HELP = ""  # one paragraph shown by the help screen above the key list
    # actions that place a point where the image view's cursor is: only with the image view focused
    POINT_ACTIONS = frozenset({"add_point", "add_point_exact", "grow_ring"})
    IMAGE_VIEWS = ("ImagePreview",)  # by class name: the first screen never imports the image widgets

    @property
    def capp(self):
        """The CaltermApp (not imported here: screens must not import the app that imports them)."""
        return self.app

    def run_worker(self, work, *args, thread: bool = False, **kwargs):
        """Thread workers import the engine one at a time (see ``core_imports``)."""
        return super().run_worker(guarded(work) if thread else work, *args, thread=thread, **kwargs)

    @property
    def session(self) -> Session:
        return self.capp.session

    def compose(self) -> ComposeResult:
        yield SessionBar(self.MODE)
        yield TabBar(self.MODE)
        yield from self.compose_body()
        yield JobBar()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A point action runs only when an image view has focus (None: shown dimmed, not run)."""
        if action in self.POINT_ACTIONS and not self.image_view_focused():
            return None
        return True

    def image_view_focused(self) -> bool:
        focused = self.focused
        return focused is not None and any(c.__name__ in self.IMAGE_VIEWS for c in type(focused).__mro__)

    # --- what two screens do alike ---------------------------------------------------------------
    def typed_xy(self, text: str) -> tuple[float, float] | None:
        """A point typed as X,Y (the CLI's parser); a bad one is said in one line and gives None."""
        from calterm.errors import InputError
        from calterm.inputs.values import parse_xy

        try:
            return parse_xy(text)
        except InputError as exc:
            self.notify(str(exc), severity="error")
            return None

    def export_history(self, history, title: str, default: str, outputs_key: str) -> None:
        """Ask for a CSV path, check it before writing, and write the history as a new version."""
        from calterm.tui.screens.prompt import PromptScreen

        def chosen(path: str | None) -> None:
            if not path:
                return
            from calterm.errors import InputError
            from calterm.inputs.values import output_path

            try:
                target = output_path(self.session.output_path(path), "csv")  # checked first: nothing is written to a bad path
                version = history.write_csv(target, command="calterm tui")
            except (InputError, OSError) as exc:
                self.notify(f"cannot write {path}: {exc}", severity="error", markup=False)
                return
            self.session.outputs[outputs_key] = str(target)
            self.capp.changed("")
            self.notify(f"{title} ({len(history)} rows) written: {target} -> {version.name} "
                        "(an earlier file is kept as a numbered version)", markup=False)

        self.app.push_screen(PromptScreen(f"Export {title} (CSV)", default), chosen)

    def on_mount(self) -> None:
        # Textual runs every class's own on_mount, subclass first: subclasses must not call super().
        self.capp.session_changed.subscribe(self, self._on_session_changed)
        self.query_one(SessionBar).update_from(self.session)
        self.on_session_changed("all")

    def on_screen_resume(self) -> None:
        self.query_one(SessionBar).update_from(self.session)
        self.on_session_changed("resume")

    def _on_session_changed(self, what: str) -> None:
        self.query_one(SessionBar).update_from(self.session)
        self.on_session_changed(what)

    def on_session_changed(self, what: str) -> None:
        """Redraw from the session; ``what`` is request, points, result, all, resume, or stale (a
        result was dropped because its inputs changed: see ``Session.drop_stale``)."""

    # --- image previews: read and predicted rings computed off the event loop -----------------
    _preview_key: tuple | None = None

    def update_previews(self, rings: bool = True) -> None:
        """Load the image and predicted rings into every ImagePreview of the screen, if changed."""
        r = self.session.request
        if not r.image_path:
            return
        geo = ring_geometry(self.session) if rings else None
        key = (image_key(r), r.detector, r.pixel_size_um, r.calibrant, r.wavelength_m, r.distance_mm,
               r.center_xy, None if geo is None else geo.as_dict(), rings)
        if key != self._preview_key:
            self._preview_key = key
            self._load_previews(r, geo, rings)

    @work(thread=True, exclusive=True, group="preview")
    def _load_previews(self, r, geo, rings: bool) -> None:
        # post_message is a thread-safe enqueue: it never waits for the event loop (nor after quit)
        try:
            _, preview = self.capp.images.get(r)
            self.post_message(PreviewLoaded(image=preview))
            if rings:
                self.post_message(PreviewLoaded(rings=ring_model(r, preview.shape, geo, image_key=preview.key)))
        except Exception as exc:  # shown in the preview itself: the user can fix the field and go on
            self._preview_key = None
            self.post_message(PreviewLoaded(error=f"cannot show the image: {exc}"))

    def on_preview_loaded(self, message: PreviewLoaded) -> None:
        for preview in self.query("ImagePreview"):  # by name: the first screen never imports plotext
            preview.show(image=message.image, rings=message.rings, message=message.error)
