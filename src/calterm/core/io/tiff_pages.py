"""Frames of a TIFF file: each page one frame, or a page that holds a stack, one frame per plane.

Why: tifffile writes a 3D array as one page of shape (n, rows, cols) (for n = 3 or 4 even as a
planar RGB(A) page), other writers (PIL, ImageJ, detector software) as n pages; both are a series of frames to a user, and
asking for frame 2 of a 4-frame file must not say "out of range (0..0)". Only the page holding the
frame is decoded.
"""

from __future__ import annotations

import numpy as np

from calterm.errors import InputError


def frames_in_page(page) -> int:
    """How many frames one page holds: the planes of a 3D page whose first axis is not colour.

    tifffile writes a stack of 3 or 4 frames as *one* planar RGB(A) page (planar configuration
    "separate", shape (n, rows, cols)); a detector image is never colour, so separate planes are
    frames. A contiguous colour page (rows, cols, samples) is one (colour) image.
    """
    shape = tuple(page.shape)
    if len(shape) != 3:
        return 1
    separate = int(getattr(page, "planarconfig", 1)) == 2
    return shape[0] if page.samplesperpixel == 1 or separate else 1


def tiff_frame_count(tif) -> int:
    """The number of frames of an open ``tifffile.TiffFile``."""
    return sum(frames_in_page(page) for page in tif.pages)


def read_tiff_frame(tif, frame: int, name: str = "TIFF") -> np.ndarray:
    """Frame ``frame`` (0-based) of an open ``tifffile.TiffFile`` as stored."""
    if not len(tif.pages):
        raise InputError(f"{name}: not a readable TIFF image (no image data)")
    first = 0
    for page in tif.pages:
        n = frames_in_page(page)
        if first <= frame < first + n:
            data = page.asarray()
            return data[frame - first] if n > 1 else data
        first += n
    raise InputError(f"{name}: frame {frame} out of range (0..{first - 1})")
