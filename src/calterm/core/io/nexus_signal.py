"""The dataset a NeXus file says is its plottable data: root ``@default`` -> NXentry ``@default`` ->
NXdata ``@signal``.

Why: a NeXus file may hold many 2D/3D datasets (detector data, monitors, processed maps), and it
names the one to show through the ``@default`` chain (NeXus "Find the plottable data", v3). We
take silx's reader of that chain (``silx.io.nxdata.get_default``, what pyFAI's and silx's viewers
use) rather than our own, so calterm opens the dataset those tools open; silx ships with pyFAI.
Files without the chain (Eiger master files, plain HDF5) get ``None`` and the caller's fallbacks.
"""

from __future__ import annotations


def nexus_default_signal(h5) -> str | None:
    """The path (no leading slash) of the NeXus default signal of an open h5py file, or None."""
    if "default" not in h5.attrs:
        return None
    from silx.io.nxdata import get_default

    try:
        nxdata = get_default(h5, validate=True)
    except Exception:  # a broken chain (missing group, bad attribute) is "no default", not an error
        return None
    if nxdata is None or nxdata.signal is None or getattr(nxdata.signal, "ndim", 0) not in (2, 3):
        return None
    return str(nxdata.signal.name).lstrip("/")
