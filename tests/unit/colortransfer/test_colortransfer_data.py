"""Photo files as cameras and print shops write them: CMYK, EXIF orientation, 16 bits, damage."""

import numpy as np
import pytest
from PIL import Image, ImageOps

from companion.colortransfer.data import BUNDLED, PAIRS, load_image, read_photo


def _photo(h=40, w=64):
    """A smooth colour image with an asymmetric layout, so flips and rotations are visible."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full((h, w), 90)], -1).astype(np.uint8)


def test_cmyk_jpeg_is_converted_to_the_right_colours(tmp_path):
    rgb = _photo()
    path = tmp_path / "print.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    out = load_image(path)
    assert out.shape == rgb.shape
    # JPEG loss only: a few levels, not the inverted or channel-shuffled colours of a wrong path.
    assert np.abs(out * 255 - rgb).mean() < 4


def test_exif_orientation_is_applied(tmp_path):
    rgb = _photo()
    for tag in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = tag
        path = tmp_path / f"phone-{tag}.png"
        Image.fromarray(rgb).save(path, exif=exif)
        want = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        got = read_photo(path)
        np.testing.assert_array_equal(got, want)
    assert read_photo(tmp_path / "phone-6.png").shape == (64, 40, 3)  # stored sideways, shown upright


def _png16(path, arr):
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    import struct
    import zlib

    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_sixteen_bit_rgb_files_are_rescaled(tmp_path):
    import tifffile

    rgb16 = (_photo().astype(np.uint32) * 257).astype(np.uint16)
    rgb16[0, 0] = (65535, 1, 30000)
    tif = tmp_path / "scan16.tif"
    tifffile.imwrite(tif, rgb16, photometric="rgb")
    out = load_image(tif)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, rgb16 / 65535.0, atol=1e-6)  # all 16 bits kept
    png = tmp_path / "scan16.png"
    _png16(png, rgb16)
    np.testing.assert_allclose(load_image(png), rgb16 / 65535.0, atol=1 / 255)  # same scale, 8-bit precision


def test_palette_png_is_expanded(tmp_path):
    path = tmp_path / "palette.png"
    Image.fromarray(_photo()).convert("P").save(path)
    out = load_image(path)
    assert out.shape == (40, 64, 3)


@pytest.mark.parametrize("mode, message", [("RGBA", "alpha"), ("LA", "alpha"), ("L", "grayscale"),
                                           ("I;16", "grayscale")])
def test_alpha_and_grayscale_files_are_refused_naming_the_file(tmp_path, mode, message):
    path = tmp_path / f"odd-{mode.replace(';', '')}.png"
    Image.fromarray(_photo()).convert(mode if mode != "I;16" else "L").convert(mode).save(path)
    with pytest.raises(ValueError, match=message) as info:
        load_image(path)
    assert path.name in str(info.value)


def test_missing_corrupt_truncated_and_folder_inputs_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        load_image(tmp_path / "nope.jpg")
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not a jpeg at all")
    with pytest.raises(ValueError, match="garbage.jpg"):
        load_image(garbage)
    good = tmp_path / "good.jpg"
    Image.fromarray(_photo(200, 300)).save(good, quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:600])
    with pytest.raises(ValueError, match="truncated.jpg"):
        load_image(truncated)
    with pytest.raises(ValueError, match="not a file"):
        load_image(tmp_path)


def test_rgb_jpeg_loads_unchanged_and_bundled_photos_are_rgb():
    for name in ("motorcycle", "chelsea"):
        img = load_image(name, max_side=48)
        assert img.ndim == 3 and img.shape[2] == 3 and max(img.shape[:2]) == 48
    assert {n for p in PAIRS for n in (p.target, p.reference)} <= set(BUNDLED)
    assert len({p.name for p in PAIRS}) == len(PAIRS)  # no duplicate pair
