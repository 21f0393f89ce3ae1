"""Every TUI test runs with HOME, XDG dirs, CALTERM_HOME and CALTERM_CACHE in temporary folders,
so no test touches the user's files; the demo image is rendered once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("calterm-cache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, demo_cache):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("CALTERM_HOME", str(tmp_path / "calterm-home"))
    monkeypatch.setenv("CALTERM_CACHE", str(demo_cache))
    monkeypatch.setenv("CALTERM_CALIBRANTS", str(home / "calibrants"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def open_app(argv: list[str] | None = None):
    """The app as `calterm tui ARGV` would build it (session built from the same arguments)."""
    from calterm.cli import build_parser
    from calterm.cli.tui import build_session
    from calterm.tui.app import CaltermApp

    args = build_parser().parse_args(["tui", *(argv or [])])
    session, path, demo = build_session(args)
    return CaltermApp(session, session_file=path, prepare_demo=demo, theme=args.theme)


async def settle(app, pilot, timeout: float = 120.0) -> None:
    """Wait until every worker (jobs, previews) is done and the screen has caught up."""
    import time

    from textual.worker import WorkerCancelled

    end = time.monotonic() + timeout
    while True:
        await pilot.pause(0.05)
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:  # an exclusive worker superseded by a newer one: wait again
            if time.monotonic() > end:
                raise TimeoutError("workers keep being cancelled") from None
            continue
        await pilot.pause(0.05)
        if not app.jobs.busy and not any(w.is_running for w in app.workers):
            return
        if time.monotonic() > end:
            raise TimeoutError("workers still running")


def screen_text(app) -> str:
    """Everything the current screen shows, as plain text (an SVG export stripped of markup)."""
    import html
    import re

    svg = re.sub(r"<style.*?</style>", "", app.export_screenshot(), flags=re.S)  # CSS is not on screen
    text = re.sub(r"<[^>]+>", "", svg)
    return html.unescape(text).replace("\xa0", " ")


@pytest.fixture
def term(isolated_home):
    """A real terminal (a private tmux server, 80x24, TERM=xterm) whose calterm sees this test's
    isolated home and this interpreter's import path; skip-marked by the tests that use it."""
    import os
    import sys

    from .tmux_driver import Tmux

    env = {k: os.environ[k] for k in ("HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                                      "CALTERM_HOME", "CALTERM_CACHE", "CALTERM_CALIBRANTS")}
    env.update(TERM="xterm", COLORTERM="", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    t = Tmux(env)
    yield t
    t.close()


@pytest.fixture
def tui():
    """The helpers above, as a fixture (test modules do not import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(open_app=open_app, settle=settle, screen_text=screen_text)
