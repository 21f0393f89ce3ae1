"""The calibration engine. Imports numpy, scipy, pyFAI, fabio and tifffile; never Textual.

Modules are small and named for what they do; see ``DESIGN.md`` for the map.
"""
