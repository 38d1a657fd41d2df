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


def _photo(paper: float, ink: float, gradient: float = 0.0, seed: int = 0) -> np.ndarray:
    """A synthetic photo (300 x 400) of a thick "7" drawn off-centre on paper of level ``paper``
    with ink of level ``ink``, a left-to-right lighting gradient and sensor noise."""
    from PIL import ImageDraw

    canvas = Image.new("L", (400, 300), 0)
    draw = ImageDraw.Draw(canvas)
    draw.line([(60, 60), (160, 60), (100, 220)], fill=255, width=14)  # the 7, upper left
    mask = np.asarray(canvas, dtype=np.float32) / 255.0
    light = 1.0 + gradient * (np.linspace(-0.5, 0.5, 400)[None, :])
    noise = np.random.default_rng(seed).normal(0.0, 0.015, mask.shape)
    photo = (paper + (ink - paper) * mask) * light + noise
    return np.clip(photo, 0.0, 1.0).astype(np.float32)


def _assert_mnist_like(digit: torch.Tensor) -> None:
    assert digit.shape == (1, 28, 28) and digit.dtype == torch.float32
    x = digit[0].numpy()
    rows, cols = np.nonzero(x > 0)
    assert rows.max() - rows.min() + 1 <= 20 and cols.max() - cols.min() + 1 <= 20
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 >= 19  # fills the box
    r = (x.sum(1) * np.arange(28)).sum() / x.sum()
    c = (x.sum(0) * np.arange(28)).sum() / x.sum()
    assert abs(r - 13.5) <= 1.0 and abs(c - 13.5) <= 1.0  # centred by mass
    assert x.max() == pytest.approx(1.0, abs=0.05)
    # Background ~0: the strokes cover under a third of the field; the rest is exactly 0.
    assert (x > 0).mean() < 0.35 and np.median(x) == 0.0


@pytest.mark.parametrize(
    "paper,ink,gradient",
    [(0.5, 0.2, 0.0), (0.9, 0.15, 0.15), (0.15, 0.85, 0.0)],
    ids=["grey-paper", "off-white-paper-dark-ink", "light-ink-on-dark"],
)
def test_photos_of_a_digit_are_cleaned_up_like_mnist(paper, ink, gradient):
    digit = images.preprocess_digit(_photo(paper, ink, gradient))
    _assert_mnist_like(digit)
    # The same seven whichever way round it was photographed: the strokes land in one place.
    reference = images.preprocess_digit(_photo(0.0, 1.0))
    overlap = (digit[0] > 0.5) & (reference[0] > 0.5)
    assert overlap.sum() >= 0.7 * (reference[0] > 0.5).sum()


def test_preprocess_accepts_uint8_and_tensors_and_blank_pictures():
    photo = (_photo(0.9, 0.1) * 255).astype(np.uint8)
    torch.testing.assert_close(
        images.preprocess_digit(photo), images.preprocess_digit(torch.from_numpy(photo))
    )
    assert images.preprocess_digit(np.full((50, 50), 0.8)).sum() == 0.0
    with pytest.raises(ValueError, match="2-D grayscale"):
        images.preprocess_digit(np.zeros((3, 28, 28)))
    with pytest.raises(images.UploadError, match="blank"):
        images.upload_to_digit(_png(np.full((50, 50), 200, dtype=np.uint8)))


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kwargs.pop("format", "JPEG"), **kwargs)
    return buffer.getvalue()


def test_a_big_png_is_refused_and_a_phone_photo_is_reduced_before_conversion():
    big = Image.new("L", (4096, 4096), 255)
    with pytest.raises(images.UploadError, match="4096x4096, over 4 megapixels"):
        images.upload_to_digit(_png(np.asarray(big)))
    photo = Image.fromarray((_photo(0.9, 0.1) * 255).astype(np.uint8)).resize((4032, 3024))
    small = images.open_upload(_jpeg(photo, quality=85))
    assert max(small.shape) <= images.WORK_SIDE and small.shape[1] > small.shape[0]
    _assert_mnist_like(images.upload_to_digit(_jpeg(photo, quality=85)))


def test_exif_orientation_is_applied_and_mpo_photos_are_accepted():
    photo = Image.fromarray((_photo(0.9, 0.1) * 255).astype(np.uint8))  # 400 wide, 300 high
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    upright = images.open_upload(_jpeg(photo, exif=exif.tobytes()))
    assert upright.shape[0] > upright.shape[1]  # turned to portrait
    mpo = _jpeg(photo, format="MPO", save_all=True, append_images=[photo])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    _assert_mnist_like(images.upload_to_digit(mpo))


def test_the_size_limit_is_one_number_with_streamlits():
    import tomllib

    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    # The browser's count of the server's number (1 MB = 1,000,000 bytes there) is the app's.
    assert config["server"]["maxUploadSize"] * 1_000_000 == images.MAX_UPLOAD_BYTES
    blank = np.zeros((28, 28), np.uint8)
    blank[8:20, 12:16] = 255  # a stroke
    assert images.upload_to_digit(_png(blank)).shape == (1, 28, 28)  # well under it
    for size in (5_000_001, 5 * 1024 * 1024):  # what the browser refuses, the server would take
        with pytest.raises(images.UploadError, match="the limit is 5 MB"):
            images.upload_to_digit(b"\x00" * size)


@pytest.mark.parametrize("side", [200, 300, 2000])
def test_a_16_bit_grey_png_of_any_size_is_read(side):
    """Above 2 × WORK_SIDE, Pillow's thumbnail() reduces with reduce(), which refuses 16-bit
    grey ("image has wrong mode" at 2000 px, while 200 and 300 px worked)."""
    ink = np.zeros((side, side), dtype=np.uint16)
    ink[side // 4 : 3 * side // 4, side // 2 - side // 20 : side // 2 + side // 20] = 60_000
    buffer = io.BytesIO()
    Image.fromarray(ink).save(buffer, format="PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == "I;16"
    digit = images.upload_to_digit(buffer.getvalue())
    assert digit.shape == (1, 28, 28) and digit[0, 14, 14] > 0.9 and digit[0, 14, 2] == 0.0
