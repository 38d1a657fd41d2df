"""Sharp PNG/GIF output and the upload conversion, including every kind of odd file."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import images


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_png_is_a_nearest_neighbour_upscale():
    digit = torch.zeros(1, 28, 28)
    digit[0, 3, 5] = 1.0
    decoded = np.asarray(Image.open(io.BytesIO(images.digit_png(digit, scale=4))))
    assert decoded.shape == (112, 112)
    assert (decoded[12:16, 20:24] == 255).all() and decoded.sum() == 16 * 255


def test_grid_tiles_with_gaps():
    tiles = torch.stack([torch.full((1, 2, 2), v) for v in (0.0, 0.5, 1.0)])
    out = images.grid(tiles, ncol=2, pad=1)
    assert out.shape == (5, 5)
    assert out[0, 3] == 128 and out[3, 0] == 255 and out[3, 3] == 0 and out[2, 2] == 0


def test_gif_plays_forward_and_back():
    frames = torch.linspace(0, 1, 4).reshape(4, 1, 1, 1).expand(4, 1, 28, 28)
    gif = Image.open(io.BytesIO(images.gif_bytes(frames, scale=1)))
    assert gif.n_frames == 6  # 0 1 2 3 2 1


def _dark_on_light_digit() -> np.ndarray:
    canvas = np.full((100, 60), 255, dtype=np.uint8)
    canvas[20:80, 25:35] = 0  # a "1" in black ink
    return canvas


def test_dark_on_light_upload_is_inverted_and_centred():
    digit = images.upload_to_digit(_png(_dark_on_light_digit()))
    assert digit.shape == (1, 28, 28)
    assert digit[0, 14, 14] > 0.9 and digit[0, 0, 0] == 0.0
    ink = np.argwhere(digit[0].numpy() > 0.5)
    assert ink[:, 0].min() >= 4 and ink[:, 0].max() <= 23  # fitted into the 20-pixel box


def test_rgba_palette_and_16_bit_uploads_are_converted():
    alpha = np.zeros((40, 40, 4), dtype=np.uint8)
    alpha[10:30, 18:22] = [0, 0, 0, 255]  # black ink on a transparent background
    rgba = images.upload_to_digit(_png(alpha))
    assert rgba[0, 14, 14] > 0.9 and rgba[0, 1, 1] == 0.0
    palette = Image.fromarray(_dark_on_light_digit()).convert("P")
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    assert images.upload_to_digit(buffer.getvalue())[0, 14, 14] > 0.9
    deep = Image.fromarray(_dark_on_light_digit().astype(np.uint16) * 257)
    assert deep.mode.startswith("I;16")
    buffer = io.BytesIO()
    deep.save(buffer, format="PNG")
    assert images.upload_to_digit(buffer.getvalue())[0, 14, 14] > 0.9
    buffer = io.BytesIO()
    Image.fromarray(_dark_on_light_digit()).save(buffer, format="JPEG")
    assert images.upload_to_digit(buffer.getvalue())[0, 14, 14] > 0.8


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "the file is empty"),
        (b"hello, I am a text file", "not a readable PNG or JPEG"),
        (_png(_dark_on_light_digit())[:60], "not a readable PNG or JPEG"),
        (_bomb_png(50_000, 50_000), "too large to be a digit"),
        (b"\x00" * (5 * 1024 * 1024 + 1), "the limit is 5 MB"),
    ],
    ids=["empty", "text", "truncated", "bomb", "oversize"],
)
def test_bad_uploads_get_one_clear_error(data, message):
    with pytest.raises(images.UploadError, match=message) as caught:
        images.upload_to_digit(data)
    assert "<_io." not in str(caught.value) and "0x" not in str(caught.value)  # no Python reprs


def test_other_image_formats_are_refused():
    buffer = io.BytesIO()
    Image.fromarray(_dark_on_light_digit()).save(buffer, format="GIF")
    with pytest.raises(images.UploadError, match="a GIF file; upload a PNG or JPEG"):
        images.upload_to_digit(buffer.getvalue())
