"""Single-ring calibration, MuscleX style (``calterm circle``, the app's screen 6).

Points typed or found on one ring (:mod:`.find`, :mod:`.points`), a robust circle fit with MAD
rejection, multi-start and differential evolution (:mod:`.robust`, :mod:`.evolution`) driven by
:mod:`.fit`, and the conversion from a fitted ring to distance and scale (:mod:`.calibration`).
"""
