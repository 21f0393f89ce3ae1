"""Gain map from amorphous scattering at several beam-stop positions (``calterm gain``, screen 0).

Each position's calibration (PONI or GSAS-II ``.imctrl``, :mod:`.files`, :mod:`.gsas_imctrl`), its
radial profile (:mod:`.profile`), the beam-stop shadow (:mod:`.beamstop`) and damaged pixels
(:mod:`.damaged`) feed the iterative map in :mod:`.gain_map`.
"""
