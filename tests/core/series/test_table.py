"""The drift table's round trip: a series result as the JSON summary the CLI writes and the app keeps."""

from __future__ import annotations

import math


def test_a_summary_reads_back_to_the_same_result():
    """What the app keeps in its session (the summary, through JSON) is the result it came from."""
    import json

    from calterm.core.series.run import DriftRow, SeriesResult

    rows = [DriftRow(k, f"/run/img{k}.tif", 1.7e9 + k, 200.0 + 0.02 * k, 1001.5, 998.25, 0.01, -0.006, 1e-4,
                     0.3, 0.0012, 480, "good", "fast" if k else "full", 0.21, ("distance jump +0.5 mm",) if k == 2 else ())
            for k in range(3)]
    result = SeriesResult(rows, [("/run/bad.tif", "unreadable")], True, "cancelled")
    back = SeriesResult.from_summary(json.loads(json.dumps(result.summary())))
    assert back == result
    # a non-finite number is null in the session's JSON (plain_json) and comes back as NaN
    from dataclasses import replace

    from calterm.core.common.jsonable import plain_json

    odd = SeriesResult([replace(rows[0], rms_2th_deg=float("nan"))])
    again = SeriesResult.from_summary(json.loads(json.dumps(plain_json(odd.summary()))))
    assert math.isnan(again.rows[0].rms_2th_deg) and again.rows[0].dist_mm == rows[0].dist_mm
