"""Files in and out: detector images and frame series (fabio, h5py, tifffile), and the one output
writer every file calterm writes goes through (checked before work starts, atomic, versioned, logged).

The lowest layer of the engine: it knows file formats, not physics, and imports only
:mod:`calterm.errors`.
"""
