"""Geometry calibration from a calibrant image (``calterm calibrate``, the app's screens 1-5).

The pipeline (:mod:`.pipeline`) finds the beam centre from ring symmetry (:mod:`.centre`), distance
and ring labels from the calibrant's comb (:mod:`.comb`), picks peaks along each ring
(:mod:`.ringpeaks`, :mod:`.points`, :mod:`.peakpickers`), fits and grows the geometry inside out
(:mod:`.refine`, :mod:`.autorefine`), and judges the fit against the peak-position noise
(:mod:`.verdict`, :mod:`.explained`). Requests and results are plain dataclasses (:mod:`.model`);
the pattern and cake checks live in :mod:`.integrate`.
"""
