"""Superpixel-based matching of high-resolution deep features for colour transfer.

Carrillo, Clément & Bugeau (ORASIS 2021): average CNN features over SLIC superpixels
("super-features"), match them with a temperature softmax over a centred cosine
correlation, and fuse reference superpixel colours per pixel, then regrain.
"""

from companion.colortransfer.data import PAIRS, as_rgb_float, load_image, load_pair, read_photo
from companion.colortransfer.matching import attention_map, direct_matching, fuse_colors, super_features


def __getattr__(name):
    # Imported lazily so `python -m companion.colortransfer.pipeline` runs without a
    # second copy of the module already in sys.modules.
    if name == "transfer":
        from companion.colortransfer.pipeline import transfer

        return transfer
    raise AttributeError(name)

__all__ = [
    "PAIRS",
    "as_rgb_float",
    "attention_map",
    "direct_matching",
    "fuse_colors",
    "load_image",
    "load_pair",
    "read_photo",
    "super_features",
    "transfer",
]
