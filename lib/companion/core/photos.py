"""Real photos that ship with the installed packages (no download): the book's offline image source.

scikit-image's bundled images (``astronaut``, ``coffee``, ``chelsea``, ``rocket``, ``horse``, ...; ``motorcycle`` is
the left view of ``stereo_motorcycle``), scikit-learn's ``china`` and ``flower``, and matplotlib's
``grace_hopper``.
"""

from __future__ import annotations

import numpy as np


def bundled_photo(name: str) -> np.ndarray:
    """The photo ``name`` as its package ships it (uint8 RGB for the colour ones; ``horse`` is a bool mask).

    ValueError naming the photo when no installed package has it.
    """
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
            return matplotlib.image.imread(fh, format="jpg")
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    loader = getattr(skimage.data, name, None)
    if loader is None or name.startswith("_") or not callable(loader):
        raise ValueError(f"no bundled photo named {name!r}: use a scikit-image data image, china, flower, "
                         "grace_hopper or motorcycle")
    return np.asarray(loader())
