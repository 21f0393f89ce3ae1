"""The calibration engine: numpy, scipy, pyFAI, fabio, h5py and tifffile; never a UI library.

One subpackage per capability, each matching a CLI verb, a screen folder and a test folder:

* :mod:`~calterm.core.calibrate` - geometry calibration from a calibrant image (``calterm calibrate``);
* :mod:`~calterm.core.circle` - single-ring calibration (``calterm circle``);
* :mod:`~calterm.core.health` - dark statistics, masks, panel alignment (``dark``, ``mask``, ``align``);
* :mod:`~calterm.core.gain` - gain map from amorphous scattering (``calterm gain``);

on two shared layers, :mod:`~calterm.core.common` (the PONI model, detectors, calibrants, jobs) and
:mod:`~calterm.core.io` (images, frame series, the one output writer), with
:mod:`~calterm.core.simulate` above them all (synthetic images for the demo, tests and benchmarks).
The import rules between them are contracts in ``pyproject.toml``; the map is ``docs/architecture.md``.
"""
