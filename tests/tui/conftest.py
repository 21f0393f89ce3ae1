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
