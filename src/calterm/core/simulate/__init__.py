"""Documented renderers of synthetic images at a known truth: powder rings through pyFAI
(:mod:`.powder`), one ring for the circle fit (:mod:`.single_ring`), amorphous scattering for the
gain map (:mod:`.amorphous`), and the built-in LaB6 demo (:mod:`.demo`).

The demo, the tests and the benchmarks use them; nothing in a capability does. It sits above the
capabilities so the demo may run a calibration.
"""
