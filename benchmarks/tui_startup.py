"""Time from launching `calterm` to its first screen being visible in a real terminal (tmux, 80x24).

usage: python benchmarks/tui_startup.py [RUNS]

Two ways, side by side. *Direct*: calterm on a pseudo-terminal this script reads itself (80x24),
answering the terminal's device-attributes query as a terminal does, and the time until the first
screen's text has been written: what the app alone costs, with nothing else on the machine's two
cores. *tmux*: each run starts `python -m calterm` (the demo; the demo image already cached, as on every start
after the first) or `python -m calterm --resume` in a private tmux server and polls capture-pane
every 5 ms until the first screen's text is there; it also reads the CPU time calterm had used by
then (user + system, from /proc), which a machine busy with other jobs inflates far less than the
wall time. tmux's own share (starting its server and a pane, then a client per poll) is shown by
the same measurement of a shell that prints the marker at once. Also reports how long `import pyFAI` alone takes, which is what the app must not pay
before its first screen.
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


CPU_S: list[float] = []  # CPU seconds (user + system) calterm had used when its first screen showed


def cpu_seconds(pid: str) -> float | None:
    """utime + stime of a process (Linux /proc), which a busy machine inflates far less than wall time."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def first_screen_s(env: dict[str, str], args: str, marker: str, command: str | None = None) -> float:
    socket = f"calterm-bench-{os.getpid()}-{time.monotonic_ns()}"
    envs = " ".join(f"{k}='{v}'" for k, v in env.items())
    t0, pid = time.perf_counter(), ""
    tmux(socket, "new-session", "-d", "-x", "80", "-y", "24", command or f"exec env {envs} {sys.executable} -m calterm {args}")
    try:
        while time.perf_counter() - t0 < 30:
            if marker in tmux(socket, "capture-pane", "-p"):
                elapsed = time.perf_counter() - t0
                pid = tmux(socket, "display-message", "-p", "#{pane_pid}").strip()
                cpu = cpu_seconds(pid)
                if cpu is not None:
                    CPU_S.append(cpu)
                return elapsed
            time.sleep(0.005)
        raise TimeoutError("no first screen in 30 s")
    finally:
        tmux(socket, "kill-server")
        if pid:
            wait_gone(pid)


def wait_gone(pid: str, timeout: float = 20.0) -> None:
    """Wait for a process killed by SIGHUP to be gone: the app saves its session and its job thread
    finishes its imports before exiting, and a run started meanwhile shared the cores with it (the
    medians were 2-3 times the minimum before this wait)."""
    end = time.perf_counter() + timeout
    while os.path.exists(f"/proc/{pid}") and time.perf_counter() < end:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.02)


def pty_first_screen_s(env: dict[str, str], args: list[str], marker: str) -> tuple[float, float]:
    """Wall and CPU seconds until ``marker`` is in what calterm wrote to a pseudo-terminal (80x24)."""
    import fcntl
    import pty
    import re
    import select
    import struct
    import termios

    escapes = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b_[^\x1b]*\x1b\\\\|\x1b[()][0-9A-Z]|\x1b[=>78]")
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: calterm on the pseudo-terminal
        os.environ.update(env)
        os.execv(sys.executable, [sys.executable, "-m", "calterm", *args])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out, answered = b"", False
    try:
        while time.perf_counter() - t0 < 30:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            out += os.read(fd, 65536)
            if not answered and b"\x1b[c" in out:  # the graphics probe's DA1: a VT220's answer, no Sixel
                os.write(fd, b"\x1b[?62;22c")
                answered = True
            if marker.encode() in escapes.sub(b"", out):
                elapsed = time.perf_counter() - t0
                return elapsed, cpu_seconds(str(pid)) or float("nan")
        raise TimeoutError("no first screen in 30 s")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def save_a_session(env: dict[str, str]) -> None:
    """Run the demo until it is ready (its session is saved then) and quit, so --resume has one."""
    socket = f"calterm-bench-{os.getpid()}-{time.monotonic_ns()}"
    envs = " ".join(f"{k}='{v}'" for k, v in env.items())
    tmux(socket, "new-session", "-d", "-x", "80", "-y", "24", f"exec env {envs} {sys.executable} -m calterm")
    try:
        end = time.perf_counter() + 60
        while "Prepare demo done" not in tmux(socket, "capture-pane", "-p"):
            if time.perf_counter() > end:
                raise TimeoutError("the demo was not ready in 60 s")
            time.sleep(0.05)
        tmux(socket, "send-keys", "ctrl+q")
        time.sleep(1.0)
    finally:
        tmux(socket, "kill-server")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:  # a killed app may still be saving
        env = {"HOME": tmp, "CALTERM_HOME": f"{tmp}/state", "CALTERM_CACHE": f"{tmp}/cache", "TERM": "xterm-256color"}
        from calterm.core.simulate.demo import demo_image_path

        os.environ["CALTERM_CACHE"] = env["CALTERM_CACHE"]
        demo_image_path()  # render the demo once, as the very first start does
        first_screen_s(env, "", "Distance mm")  # warm the OS file cache
        direct = [pty_first_screen_s(env, [], "Distance mm") for _ in range(runs)]
        shell = [first_screen_s(env, "", "Distance mm", command="printf 'Distance mm'; sleep 30")
                 for _ in range(runs)]
        CPU_S.clear()
        demo = [first_screen_s(env, "", "Distance mm") for _ in range(runs)]
        demo_cpu = list(CPU_S)
        save_a_session(env)  # a run killed at its first screen saved nothing yet: --resume needs one
        CPU_S.clear()
        resume = [first_screen_s(env, "--resume", "Distance mm") for _ in range(runs)]
        resume_cpu = list(CPU_S)
    code = "import time; t = time.perf_counter(); import pyFAI.integrator.azimuthal; print(time.perf_counter() - t)"
    pyfai = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
             for _ in range(3)]
    walls, cpus = [w for w, _ in direct], [c for _, c in direct]
    print(f"{'calterm direct':18s} first screen: median {statistics.median(walls):.3f} s, min {min(walls):.3f} s, "
          f"max {max(walls):.3f} s over {runs} runs; CPU used by then: median {statistics.median(cpus):.3f} s")
    print(f"{'tmux + shell':18s} marker seen:  median {statistics.median(shell):.3f} s, "
          f"min {min(shell):.3f} s, max {max(shell):.3f} s (tmux's own share of the lines below)")
    for name, values, cpu in (("calterm (demo)", demo, demo_cpu), ("calterm --resume", resume, resume_cpu)):
        print(f"{name:18s} first screen: median {statistics.median(values):.3f} s, "
              f"min {min(values):.3f} s, max {max(values):.3f} s over {runs} runs"
              + (f"; CPU used by then: median {statistics.median(cpu):.3f} s" if cpu else ""))
    print(f"{'import pyFAI':18s} alone: median {statistics.median(pyfai):.3f} s (not paid at start-up)")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
