"""Ask the terminal in one round trip whether it shows Kitty graphics or Sixel, before Textual starts.

``textual-image`` asks at import time, one question after another, each waiting up to 0.1 s for an
answer that most terminals (tmux, GNOME Terminal, the Linux console) never send to the Kitty query:
0.1-0.3 s before every start, plus its ~50 ms import. Here the Kitty graphics query (and the cell
size query, when the kernel does not know the pixel size) go out together, followed by the primary
device attributes request (DA1), which every terminal answers, in order: once the DA1 reply is in,
every answer that was coming has come (the detection Kitty's documentation recommends). The DA1
reply itself says Sixel (attribute 4). The same tests as ``textual-image``'s, so the same choice.

Reading stops at the end of the DA1 reply, a byte at a time, so keys typed after it are left for
Textual. Must run before Textual starts: afterwards its input thread would read the answers.
"""

from __future__ import annotations

import os
import re
import select
import time
from dataclasses import dataclass

KITTY_QUERY = b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"  # a 1x1 RGB image, queried, not shown
CELL_QUERY = b"\x1b[16t"  # the cell size in pixels: ESC [ 6 ; height ; width t
DA1_QUERY = b"\x1b[c"  # primary device attributes: ESC [ ? 62 ; 4 ; ... c (4: Sixel)

_DA1 = re.compile(rb"\x1b\[\?([0-9;]*)c")
_KITTY = re.compile(rb"\x1b_G([^\x1b]*)\x1b\\")
_CELL = re.compile(rb"\x1b\[6;([0-9]+);([0-9]+)t")


@dataclass(frozen=True)
class TerminalAnswers:
    """What the terminal said: Sixel, Kitty graphics, its cell size in pixels (None: not said)."""

    sixel: bool = False
    kitty: bool = False
    cell_px: tuple[int, int] | None = None  # (width, height)

    @property
    def protocol(self) -> str | None:
        """``sixel`` or ``kitty`` (Sixel first, as textual-image: Kitty itself has no Sixel), or None."""
        return "sixel" if self.sixel else "kitty" if self.kitty else None


def parse_answers(data: bytes, cell_px: tuple[int, int] | None = None) -> TerminalAnswers:
    """The answers in the bytes read back (``cell_px``: the kernel's, used when the terminal gave none)."""
    da1 = _DA1.search(data)
    sixel = da1 is not None and b"4" in da1.group(1).split(b";")
    kitty = any(m.group(1).rsplit(b";", 1)[-1] == b"OK" for m in _KITTY.finditer(data))
    cell = _CELL.search(data)
    if cell is not None and int(cell.group(1)) > 0 and int(cell.group(2)) > 0:
        cell_px = (int(cell.group(2)), int(cell.group(1)))
    return TerminalAnswers(sixel=sixel, kitty=kitty, cell_px=cell_px)


def kernel_cell_px(fd: int) -> tuple[int, int] | None:
    """The cell size from the terminal's window size in pixels (TIOCGWINSZ), None when it is 0."""
    import fcntl
    import struct
    import termios

    try:
        rows, cols, width, height = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    if not (rows and cols and width and height):
        return None
    return width // cols, height // rows


def read_until_da1(fd: int, timeout: float) -> bytes:
    """Bytes from ``fd`` up to the end of a DA1 reply, or what came within ``timeout`` seconds."""
    data = b""
    deadline = time.monotonic() + timeout
    while _DA1.search(data) is None:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        byte = os.read(fd, 1)
        if not byte:
            break
        data += byte
    return data


def ask_terminal(fd_in: int, fd_out: int, timeout: float = 0.2) -> TerminalAnswers | None:
    """Send the queries and read the answers (the terminal in cbreak mode meanwhile: no echo).

    None when ``fd_in``/``fd_out`` are not a terminal or it cannot be set up. ``timeout`` matters
    only for a terminal that does not answer DA1 at all."""
    import termios
    import tty

    if not (os.isatty(fd_in) and os.isatty(fd_out)):
        return None
    cell_px = kernel_cell_px(fd_out)
    try:
        saved = termios.tcgetattr(fd_in)
        tty.setcbreak(fd_in, termios.TCSANOW)
    except termios.error:
        return None
    try:
        os.write(fd_out, KITTY_QUERY + (CELL_QUERY if cell_px is None else b"") + DA1_QUERY)
        data = read_until_da1(fd_in, timeout)
    except OSError:
        return None
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, saved)
    return parse_answers(data, cell_px)
