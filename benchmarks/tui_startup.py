"""Time from launching `calterm` to its first screen being visible in a real terminal (tmux, 80x24).

usage: python benchmarks/tui_startup.py [RUNS]

Each run starts `python -m calterm` (the demo; the demo image already cached, as on every start
after the first) or `python -m calterm --resume` in a private tmux server and polls capture-pane
every 5 ms until the first screen's text is there. Also reports how long `import pyFAI` alone takes,
which is what the app must not pay before its first screen.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True).stdout


def first_screen_s(env: dict[str, str], args: str, marker: str) -> float:
    socket = f"calterm-bench-{os.getpid()}-{time.monotonic_ns()}"
    envs = " ".join(f"{k}='{v}'" for k, v in env.items())
    t0 = time.perf_counter()
    tmux(socket, "new-session", "-d", "-x", "80", "-y", "24", f"exec env {envs} {sys.executable} -m calterm {args}")
    try:
        while time.perf_counter() - t0 < 30:
            if marker in tmux(socket, "capture-pane", "-p"):
                return time.perf_counter() - t0
            time.sleep(0.005)
        raise TimeoutError("no first screen in 30 s")
    finally:
        tmux(socket, "kill-server")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        env = {"HOME": tmp, "CALTERM_HOME": f"{tmp}/state", "CALTERM_CACHE": f"{tmp}/cache", "TERM": "xterm-256color"}
        from calterm.core.simulate.demo import demo_image_path

        os.environ["CALTERM_CACHE"] = env["CALTERM_CACHE"]
        demo_image_path()  # render the demo once, as the very first start does
        first_screen_s(env, "", "Distance mm")  # warm the OS file cache
        demo = [first_screen_s(env, "", "Distance mm") for _ in range(runs)]
        resume = [first_screen_s(env, "--resume", "Distance mm") for _ in range(runs)]
    code = "import time; t = time.perf_counter(); import pyFAI.integrator.azimuthal; print(time.perf_counter() - t)"
    pyfai = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
             for _ in range(3)]
    for name, values in (("calterm (demo)", demo), ("calterm --resume", resume)):
        print(f"{name:18s} first screen: median {statistics.median(values):.3f} s, "
              f"min {min(values):.3f} s, max {max(values):.3f} s over {runs} runs")
    print(f"{'import pyFAI':18s} alone: median {statistics.median(pyfai):.3f} s (not paid at start-up)")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
