"""The bundled photos load offline from the installed packages, and an unknown name is named."""

import numpy as np
import pytest

from companion.core.photos import bundled_photo


@pytest.mark.parametrize("name, shape", [("china", (427, 640, 3)), ("grace_hopper", (600, 512, 3)),
                                         ("astronaut", (512, 512, 3)), ("motorcycle", (500, 741, 3))])
def test_bundled_photos_are_uint8_rgb(name, shape):
    photo = bundled_photo(name)
    assert photo.shape == shape and photo.dtype == np.uint8


def test_an_unknown_photo_is_named():
    with pytest.raises(ValueError, match="'no_such_photo'"):
        bundled_photo("no_such_photo")

