"""Files in and out: detector images and frame series (fabio, h5py, tifffile), and the one output
writer every file calterm writes goes through (checked before work starts, atomic, versioned, logged).

``writer`` is the one way out (preflight, versioned atomic writes, no write through a link),
``versionlog`` the append-only log beside each output, ``versions`` the names ``calterm history``
speaks (list, restore, read the log); ``images`` and ``frames`` read what detectors write.

The lowest layer of the engine: it knows file formats, not physics, and imports only
:mod:`calterm.errors`.
"""
