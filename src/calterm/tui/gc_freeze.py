"""Keep the garbage collector's full passes short: what the imports made is moved out of its reach.

A full (generation 2) collection walks every object Python tracks, and the app holds ~240,000 once
Textual, numpy, pyFAI and the screens are loaded: functions, classes, dicts and caches that live
as long as the process. On the 2-core machine here one such pass took 150-250 ms (a plain
``gc.collect()`` 200-216 ms), and it runs in whichever thread allocates at that moment, holding
the GIL: the event loop stopped as long. Measured on the first visit of each screen, the full
passes were most of each gap (switches with a pass: 116-291 ms, of which the pass 158-253 ms).

``gc.freeze()`` moves every tracked object to a permanent generation that collections skip. It
is called whenever modules were imported since the last call (checked once a second, from the
app's loop): those are the long-lived objects; what was created meanwhile is frozen with them and
freed by reference counting as usual, only cycles among it are kept. After it, the same first
visits spent 15-33 ms in all collections, against 17-257 ms (``benchmarks/tui_first_visit.py``
with and without ``--no-freeze``, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import sys

CHECK_EVERY_S = 1.0
_seen = {"modules": 0}


def freeze_if_imported() -> bool:
    """Freeze what is tracked now if the set of loaded modules grew since the last freeze."""
    n = len(sys.modules)
    if n == _seen["modules"]:
        return False
    _seen["modules"] = n
    gc.freeze()
    return True
