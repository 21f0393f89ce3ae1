"""Drive calterm in a real terminal: a private tmux server (its own socket), send-keys, capture-pane.

Used by the end-to-end test and by ``benchmarks/tui_startup.py``. Everything runs on a socket named
for this process, and only that server is ever killed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time


class Tmux:
    def __init__(self, env: dict[str, str], size: tuple[int, int] = (80, 24)) -> None:
        self.socket = f"calterm-test-{os.getpid()}-{time.monotonic_ns()}"
        self.env = env
        self.size = size
        self.n = 0

    @staticmethod
    def available() -> bool:
        return shutil.which("tmux") is not None

    def _tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return out.stdout

    def start(self, *calterm_args: str) -> str:
        """Run ``python -m calterm ARGS`` in a new window; returns the window's target.

        The shell around it writes calterm's exit status to a file (tmux's own pane status is not
        reliable across versions)."""
        self.n += 1
        name = f"w{self.n}"
        env = " ".join(f"{k}='{v}'" for k, v in self.env.items())
        status = self.status_file(f"ct:{name}")
        cmd = f"env {env} {sys.executable} -m calterm {' '.join(calterm_args)}; echo $? > {status}"
        if self.n == 1:
            self._tmux("new-session", "-d", "-s", "ct", "-n", name, "-x", str(self.size[0]), "-y", str(self.size[1]),
                       cmd)
            self._tmux("set-option", "-g", "remain-on-exit", "on")
            self._tmux("set-option", "-s", "escape-time", "0")  # esc then a key must stay two keys
        else:
            self._tmux("new-window", "-d", "-t", "ct", "-n", name, cmd)
        return f"ct:{name}"

    def status_file(self, target: str) -> str:
        return os.path.join(tempfile.gettempdir(), f"{self.socket}-{target.replace(':', '-')}.status")

    def calterm_pid(self, target: str) -> int:
        """The pid of calterm itself (the child of the window's shell)."""
        shell = self.pane(target, "#{pane_pid}")
        out = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        return int(out[0])

    def capture(self, target: str) -> str:
        return self._tmux("capture-pane", "-p", "-t", target)

    def send(self, target: str, *keys: str, pause: float = 0.15) -> None:
        """One key at a time, as a person types (a burst can split escape sequences)."""
        for key in keys:
            self._tmux("send-keys", "-t", target, key)
            time.sleep(pause * (4 if key == "Escape" else 1))

    def wait_for(self, target: str, text: str, timeout: float = 90.0, poll: float = 0.05) -> str:
        end = time.monotonic() + timeout
        while True:
            screen = self.capture(target)
            if text in screen:
                return screen
            if time.monotonic() > end:
                raise TimeoutError(f"{text!r} not on screen after {timeout} s:\n{screen}")
            time.sleep(poll)

    def pane(self, target: str, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", target, fmt).strip()

    def wait_exit(self, target: str, timeout: float = 30.0) -> int:
        path = self.status_file(target)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.exists(path):
                with open(path) as fh:
                    text = fh.read().strip()
                if text:
                    return int(text)
            time.sleep(0.1)
        raise TimeoutError(f"calterm did not exit:\n{self.capture(target)}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
