"""Detector health, cctbx.xfel style (``calterm dark``, ``mask``, ``align``; the app's screens 7-9).

Dark statistics over thousands of frames in constant memory (:mod:`.dark`, with partial sums in
:mod:`.dark_partial` and Dask workers in :mod:`.dark_parallel`), masks from thresholds
(:mod:`.mask`), and panel alignment from powder rings (:mod:`.alignment`).
"""
