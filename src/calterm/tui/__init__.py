"""The terminal app (Textual): a face over :mod:`calterm.core` that collects parameters and shows
results. Nothing here computes; every action is a core call in a worker, followed by an autosave."""
