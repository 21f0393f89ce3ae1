"""CaltermApp: the thin shell that holds the session, switches screens, runs jobs and autosaves.

Screens own their behaviour; the app only offers what several of them share: the session and
its autosave, the job runner, the calibrate action (bound to ``c`` everywhere), themes and the
command palette. Every change goes through :meth:`CaltermApp.changed`, which first drops every
result that no longer belongs to the inputs (saying so), then saves the session atomically before
anything else happens, so a killed terminal loses nothing and no screen shows a stale result.
Jobs report back as typed messages (:mod:`calterm.tui.workers`); the app handles its own
(the demo, the calibration) and every screen's job message bubbles through it.

Keys are routed in the order they were typed: a key that moves focus or switches screens (tab,
shift+tab, esc, the screen digits, alt+digit, ctrl+pageup/pagedown) is a *priority* binding, handled
the moment the app receives it. Textual forwards every other key to the widget focused at that
moment and runs ordinary bindings only when the key bubbles back, after the keys behind it were
already forwarded: `a.edf` Tab `b.edf` sent in one burst (tmux, a fast typist, an unbracketed
paste) used to land in one field. A digit switches screens only when no text field has focus
(alt+digit always does); a bracketed paste goes into the focused field only, first line, tabs as
spaces, and is dropped with a note when no field has focus.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from functools import partial
from pathlib import Path

from textual import events
from textual.actions import SkipAction
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.signal import Signal

from calterm.tui.commands import COMMANDS, screen_commands
from calterm.tui.gc_freeze import CHECK_EVERY_S, freeze_if_imported
from calterm.tui.preview_data import ImageCache
from calterm.tui.screen_switch import ScreenSwitcher
from calterm.tui.session import Session, request_key
from calterm.tui.session_file import (
    flush_on_signals,
    load_prefs,
    preferred_units,
    remember_units,
    save_prefs,
    save_session,
)
from calterm.tui.themes import DEFAULT_THEME, load_themes
from calterm.tui.widgets.tab_bar import screen_labels
from calterm.tui.workers import JobCancelled, JobDone, JobFailed, JobRunner

# mode -> (module, class); a screen's module (and its plotting widgets) is imported when the screen
# is first shown, so start-up pays only for the first screen
SCREENS = {"parameters": ("calibrate.parameters", "ParametersScreen"), "points": ("calibrate.points", "PointsScreen"),
           "refinement": ("calibrate.refinement", "RefinementScreen"), "jobs": ("jobs", "JobsScreen"),
           "results": ("calibrate.results", "ResultsScreen"), "circle": ("circle.single_ring", "CircleScreen"),
           "dark": ("health.dark", "DarkScreen"), "mask": ("health.mask", "MaskScreen"),
           "align": ("health.align", "AlignScreen"), "gain": ("gain.gain_map", "GainScreen"),
           "joint": ("many.joint", "JointScreen"), "series": ("many.series", "SeriesScreen")}
SCREEN_KEYS = "1234567890"  # the first ten screens' keys, in the order of SCREENS; further screens: ctrl+pagedown


def _screen_factory(mode: str):
    def make():
        import importlib

        module, name = SCREENS[mode]
        return getattr(importlib.import_module(f"calterm.tui.screens.{module}"), name)()

    return make


SCREEN_CLASSES = {mode: _screen_factory(mode) for mode in SCREENS}


class CaltermApp(App):
    TITLE = "calterm"
    MODES = SCREEN_CLASSES  # type: ignore[assignment]
    BINDINGS = [
        *(Binding(key, f"screen_key('{mode}')", mode, show=False, priority=True)
          for key, mode in zip(SCREEN_KEYS, SCREEN_CLASSES, strict=False)),
        *(Binding(f"alt+{key}", f"screen_key('{mode}', True)", mode, show=False, priority=True)
          for key, mode in zip(SCREEN_KEYS, SCREEN_CLASSES, strict=False)),
        Binding("ctrl+pagedown", "next_screen(1)", "Next screen", show=False, priority=True),
        Binding("ctrl+pageup", "next_screen(-1)", "Previous screen", show=False, priority=True),
        Binding("tab", "focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Previous field", show=False, priority=True),
        Binding("c", "calibrate", "Calibrate"),
        Binding("f5", "calibrate", "Calibrate", show=False, priority=True),
        Binding("question_mark,f1", "help", "Keys"),
        Binding("escape", "escape", "Cancel", show=False, priority=True),
        Binding("ctrl+o", "open_image", "Open", show=False),
        Binding("u", "toggle_units", "Units", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, session: Session, session_file: Path | None = None, prepare_demo: bool = False,
                 theme: str | None = None) -> None:
        # the first screen is the app's default mode, created as the app composes: switching to it in
        # on_mount made Textual build an empty default screen, restyle the first screen twice and
        # hold its first frame back 50 ms (switch_mode's delay_update)
        self.DEFAULT_MODE = session.screen if session.screen in self.MODES else "parameters"
        super().__init__()
        self.session = session
        self.session_file = session_file
        self.jobs = JobRunner(self)
        self.session_changed: Signal[str] = Signal(self, "session-changed")
        self.images = ImageCache()  # the image being calibrated, read once for every screen
        self._prepare_demo = prepare_demo
        self._requested_theme = theme
        self._after_ready: list = []
        self._first_frame_out = False
        self.switcher = ScreenSwitcher(self)
        self._after_first_frame: list = []
        self._save_timer = None
        self._save_error_shown = False
        # the theme is chosen before the app starts: set in on_mount it made Textual build and
        # apply the whole stylesheet twice before the first screen
        for theme_obj in load_themes():
            self.register_theme(theme_obj)
        wanted = theme or load_prefs().get("theme") or DEFAULT_THEME
        if wanted in self.available_themes:
            self.theme = wanted
        # what the first screen shows is settled before it composes (it composes before on_mount)
        self.session.units = self.session.units or preferred_units()  # a new session: the last one chosen
        self._stale_notes = self.session.drop_stale()  # a resumed session shows only what still belongs to its inputs

    # --- start-up -----------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame)  # first: queued before anything else waits on it
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        flush_on_signals(self.flush, lambda code: self.exit(return_code=code))  # SIGHUP, SIGTERM
        for note in self._stale_notes:
            self.notify(note, severity="warning", timeout=8)
        if self._prepare_demo:
            # after the first paint: the job's thread imports the engine, which would hold the GIL
            # while the first screen is still being laid out
            self.call_after_refresh(self.jobs.start, "Prepare demo", _demo_request, kind="demo")
        else:
            self.changed("all")
        self.call_after_refresh(self._prebuild_screens)

    def _prebuild_screens(self) -> None:
        """The screens a calibration ends on, built while idle (:mod:`calterm.tui.prebuild`)."""
        from calterm.tui.prebuild import PREBUILT, prebuild

        for mode in PREBUILT:
            if self.current_mode != mode:
                self.run_worker(prebuild(self, mode, f"calterm.tui.screens.{SCREENS[mode][0]}"),
                                name=f"prebuild {mode}", group="prebuild", exit_on_error=False)

    def after_first_frame(self, callback) -> None:
        """Run ``callback`` once the first frame is out (at once after it). Work that imports the
        engine waits for it: a timer started at mount fired before a slow first frame (a loaded
        machine, cold byte-code caches) and its thread imported numpy during the first layout."""
        if self._first_frame_out:
            callback()
        else:
            self._after_first_frame.append(callback)

    def _first_frame(self) -> None:
        self._first_frame_out = True
        freeze_if_imported()  # start-up's modules, then whatever later imports load (gc_freeze)
        self.set_interval(CHECK_EVERY_S, freeze_if_imported)
        pending, self._after_first_frame = self._after_first_frame, []
        for callback in pending:
            callback()

    def _demo_ready(self, request) -> None:
        self.session.request = request
        self.changed("all")
        pending, self._after_ready = self._after_ready, []
        for action in pending:
            action()

    def _remember_theme(self, theme) -> None:
        prefs = load_prefs()
        prefs["theme"] = theme.name
        with contextlib.suppress(OSError):
            save_prefs(prefs)

    # --- jobs' messages (a screen's job bubbles here after the screen handled it) --------------
    def on_job_done(self, message: JobDone) -> None:
        self.jobs.run_callbacks(message)
        if message.kind == "demo":
            self._demo_ready(message.result)
        elif message.kind == "calibrate":
            self.session.set_result(message.result, message.record.key)
            self.changed("result")  # dropped at once if the inputs changed while it ran
            self.action_switch("results")

    def on_job_failed(self, message: JobFailed) -> None:
        self.jobs.run_callbacks(message)

    def on_job_cancelled(self, message: JobCancelled) -> None:
        self.jobs.run_callbacks(message)

    # --- the session: every change saves it ---------------------------------------------------
    def _drop_stale(self) -> bool:
        notes = self.session.drop_stale()
        for note in notes:
            self.notify(note, severity="warning", timeout=8)
        return bool(notes)

    def changed(self, what: str = "request", *, debounce: bool = False) -> None:
        """Drop stale results, save the session (now, or within 0.3 s for a stream of cursor
        moves) and tell the screens what changed ("stale" when only a drop did)."""
        if self._drop_stale() and not what:
            what = "stale"
        if debounce:
            if self._save_timer is not None:
                self._save_timer.stop()
            self._save_timer = self.set_timer(0.3, self.save)
        else:
            self.save()
        if what:
            self.session_changed.publish(what)

    def flush(self) -> None:
        """Save now, with no debounced save left pending (a hangup, SIGTERM, the end of the app)."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        self.save()

    def save(self) -> None:
        try:
            save_session(self.session, self.session_file)
        except OSError as exc:
            if not self._save_error_shown:  # say it once, not on every key press
                self._save_error_shown = True
                self.notify(f"cannot save the session: {exc}", severity="error", timeout=10)

    def update_request(self, what: str = "request", geometry: bool = False, **changes) -> None:
        """Replace fields of the request; a changed start value makes predicted rings follow it."""
        self.session.request = replace(self.session.request, **changes)
        if geometry:
            self.session.rings_from_result = False
        self.changed(what)

    # --- actions shared by every screen -------------------------------------------------------
    def action_switch(self, mode: str) -> None:
        """Go to ``mode``'s screen; a burst of screen keys lands on the last one (ScreenSwitcher)."""
        if mode in self.MODES and self.switcher.request(mode):
            self.session.screen = mode
            self.changed("", debounce=True)

    def action_screen_key(self, mode: str, modifier: bool = False) -> None:
        """A screen key: never under a dialog, and a bare digit never while a text field has focus
        (SkipAction hands the key on to the field, in order)."""
        if isinstance(self.screen, ModalScreen) or (not modifier and self._text_field_focused()):
            raise SkipAction()
        self.action_switch(mode)

    def action_next_screen(self, step: int) -> None:
        if isinstance(self.screen, ModalScreen):
            raise SkipAction()
        modes = list(self.MODES)
        here = modes.index(self.switcher.target) if self.switcher.target in modes else 0
        self.action_switch(modes[(here + step) % len(modes)])

    def action_focus_next(self) -> None:
        """Tab moves to the next field, except in a field whose Tab completes (a path field)."""
        if getattr(self.focused, "TAB_COMPLETES", False):
            raise SkipAction()
        super().action_focus_next()

    def _text_field_focused(self) -> bool:
        return self.focused is not None and any(c.__name__ in ("Input", "TextArea") for c in type(self.focused).__mro__)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Paste) and not event.is_forwarded:
            self._paste(event.text)
            return
        await super().on_event(event)

    def _paste(self, text: str) -> None:
        """A bracketed paste: into the focused text field only, never read as keys or actions."""
        if not self._text_field_focused():
            self.notify("paste ignored: no text field has focus (tab to one first)", severity="warning")
            return
        lines = text.splitlines() or [""]
        if len([line for line in lines if line.strip()]) > 1:
            self.notify(f"pasted the first line only ({len(lines) - 1} more left out)", severity="warning")
        self.focused._forward_event(events.Paste(lines[0].replace("\t", " ")))  # type: ignore[union-attr]

    def action_calibrate(self) -> None:
        if self.session.invalid_fields:  # a field the calibration needs does not parse: nothing runs
            self.notify(f"not calibrating: {next(iter(self.session.invalid_fields.values()))}", severity="error",
                        markup=False)
            return
        if not self.session.request.image_path:
            self._after_ready.append(self.action_calibrate)
            self.notify("preparing the demo image; the calibration starts as soon as it is ready")
            return
        request = self.session.effective_request()
        self.jobs.start("Calibrate", partial(_calibrate, request), kind="calibrate", key=request_key(request))

    def action_escape(self) -> None:
        """Cancel the running job, else leave the text field (at once: the keys behind esc go to
        the screen); dialogs and open drop-downs get their own esc (SkipAction)."""
        focused = self.focused
        if isinstance(self.screen, ModalScreen) or (
                focused is not None and any(c.__name__ == "SelectOverlay" for c in type(focused).__mro__)):
            raise SkipAction()
        if self.jobs.cancel():
            self.notify("cancelling…")
        elif self._text_field_focused():
            self.screen.set_focus(None)
        else:
            raise SkipAction()

    def action_cancel_job(self) -> None:
        if not self.jobs.cancel():
            self.notify("no job is running")

    def action_help(self) -> None:
        from calterm.tui.screens.help import HelpScreen, help_sections  # DataTable: not for the first screen

        if isinstance(self.screen, ModalScreen):
            return
        mode, screen = self.current_mode, self.screen
        keys, sections = help_sections(mode, screen, COMMANDS)
        self.push_screen(HelpScreen(f"Keys: {mode}", getattr(screen, "HELP", ""), keys, sections))

    def action_toggle_units(self) -> None:
        """Every screen between mm/mrad/°/Å and PONI units (m, rad); kept in the session and the prefs."""
        from calterm.tui.units import DESCRIPTION, other

        self.session.units = other(self.session.units)
        remember_units(self.session.units)
        self.changed("units")
        self.notify(f"units: {DESCRIPTION[self.session.units]} (u switches back)")

    def action_open_image(self) -> None:
        from calterm.tui.screens.file_browser import FileBrowser

        def opened(path: str | None) -> None:
            if path:
                if not Path(path).expanduser().is_file():
                    self.notify(f"{path}: no such file", severity="error")
                    return
                self.session.demo = False  # the results and points of the last image drop in changed()
                self.update_request("all", geometry=True, image_path=str(Path(path).expanduser()))

        self.push_screen(FileBrowser("Open image", self.session.request.image_path,
                                     f"outputs → {self.session.output_folder()}"), opened)

    def action_output_folder(self) -> None:
        from calterm.tui.screens.prompt import PromptScreen

        def chosen(path: str | None) -> None:
            if path is not None:
                folder = Path(path).expanduser().absolute() if path else None
                if folder is not None and not folder.is_dir():
                    self.notify(f"{path}: no such folder", severity="error", markup=False)
                    return
                self.session.output_dir = str(folder) if folder else ""
                self.changed("all")
                self.notify(f"outputs → {self.session.output_folder()}", markup=False)

        self.push_screen(PromptScreen("Output folder (empty: next to the image)", self.session.output_dir,
                                      f"now: {self.session.output_folder()}", dirs_only=True,
                                      allow_empty=True), chosen)

    def action_new_demo(self) -> None:
        self.session = Session(request=replace(self.session.request, image_path=""), demo=True)
        self.jobs.start("Prepare demo", _demo_request, kind="demo")

    # --- command palette: every command of the table ------------------------------------------
    def get_system_commands(self, screen):
        for c in (*COMMANDS, *screen_commands(list(self.MODES), lambda mode: screen_labels(mode)[0])):
            yield SystemCommand(c.title, f"{c.help}  [{c.key}]" if c.key else c.help, partial(self._run_command, c))
        yield from super().get_system_commands(screen)

    async def _run_command(self, command) -> None:
        if command.mode is not None and self.switcher.target != command.mode:
            self.session.screen = command.mode
            await self.switcher.go(command.mode)
        await self.run_action(command.action)


def _demo_request(ctx):
    from calterm.core.simulate.demo import demo_request

    ctx.report("render the LaB6 demo image (first start only)")
    return demo_request()


def _calibrate(request, ctx):
    try:
        from calterm.core.calibrate.pipeline import calibrate
    except ImportError as exc:
        from calterm.errors import ComputationError

        raise ComputationError(f"the calibration engine is not available ({exc})") from exc
    from calterm.tui.session_file import prepare_result

    return prepare_result(calibrate(request, ctx))  # its saved text made here, not on the event loop
