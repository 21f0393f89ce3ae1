"""Gain map from amorphous scattering at several beam-stop positions (``calterm gain``, screen 0).

Each position's calibration (PONI or GSAS-II ``.imctrl``, :mod:`.files`, :mod:`.gsas_imctrl`), its
radial profile (:mod:`.profile`), the beam-stop shadow (:mod:`.beamstop`) and damaged pixels
(:mod:`.damaged`) feed :mod:`.gain_map`, which solves gain and profiles as one log-space weighted
least-squares problem (:mod:`.solve`: the alternating scheme it replaced crawled along a radial mode
and stopped early). Positions that add no independent information are refused first
(:mod:`.independence`); :mod:`.run` is the job the CLI and the app call.
"""
