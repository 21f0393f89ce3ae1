"""Plain JSON values from results: numpy scalars and arrays to Python, NaN and infinities to None
(strict JSON, which every reader accepts). One converter for the CLI, reports and the session."""

from __future__ import annotations

import math


def plain_json(obj):
    import numpy as np  # here, not at import: the TUI starts through modules that import this one

    if isinstance(obj, dict):
        return {str(k): plain_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain_json(obj.tolist())
    if isinstance(obj, np.generic):
        return plain_json(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
