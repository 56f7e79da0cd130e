"""Superpixel-based matching of high-resolution deep features for colour transfer.

Carrillo, Clément & Bugeau (ORASIS 2021): average CNN features over SLIC superpixels
("super-features"), match them with a temperature softmax over a centred cosine
correlation, and fuse reference superpixel colours per pixel, then regrain.

Deviation from the chapter contract: this package has no ``synthetic`` module and no
``make_synthetic``. Colour transfer has no labels or ground truth for a generator to
plant and an oracle to recover: a run is a (target, reference) pair of real photos, and
the chapter runs on the real photos that ship offline with scikit-image, scikit-learn and
matplotlib (`data.PAIRS`), so synthetic images would add nothing the real pairs lack. The
paper has no losses either (no ``losses`` module): its Eqs. 1-6 live in `matching`.
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
