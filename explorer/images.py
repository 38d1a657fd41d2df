"""Turning tensors into sharp PNGs and GIFs, and uploads into 28x28 digits.

Digits are shown with nearest-neighbour upscaling (never blurry resampling or JPEG), so each model
pixel stays a crisp square on a projector.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096  # far beyond any photo of a digit; stops decompression bombs
DISPLAY_SCALE = 6  # 28 px -> 168 px


class UploadError(ValueError):
    """An uploaded file that is not a usable image; the message says why."""


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(…, 28, 28) floats in [0, 1] -> uint8 array of the same shape without the channel."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else images
    array = np.asarray(array, dtype=np.float32)
    if array.ndim >= 3 and array.shape[-3] == 1:
        array = array.squeeze(-3)
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def grid(images: torch.Tensor | np.ndarray, ncol: int, pad: int = 2) -> np.ndarray:
    """Tile N images (N, 1, H, W) into one uint8 array, ``ncol`` per row, with black gaps."""
    tiles = to_uint8(images)
    n, h, w = tiles.shape
    nrow = -(-n // ncol)
    out = np.zeros((nrow * (h + pad) - pad, ncol * (w + pad) - pad), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncol)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tile
    return out


def upscale(array: np.ndarray, scale: int = DISPLAY_SCALE) -> np.ndarray:
    """Nearest-neighbour upscaling of a 2-D uint8 array."""
    return np.kron(array, np.ones((scale, scale), dtype=np.uint8))


def png_bytes(array: np.ndarray, scale: int = DISPLAY_SCALE) -> bytes:
    """A 2-D uint8 array as PNG bytes, upscaled by ``scale``."""
    buffer = io.BytesIO()
    Image.fromarray(upscale(array, scale)).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_png(image: torch.Tensor | np.ndarray, scale: int = DISPLAY_SCALE) -> bytes:
    """One digit (1, 28, 28) or (28, 28) as an upscaled PNG."""
    return png_bytes(to_uint8(image), scale)


def gif_bytes(frames: torch.Tensor, scale: int = DISPLAY_SCALE, ms_per_frame: int = 80) -> bytes:
    """An animated GIF that plays the frames forward and back (a ping-pong loop)."""
    tiles = [Image.fromarray(upscale(t, scale)) for t in to_uint8(frames)]
    sequence = tiles + tiles[-2:0:-1]
    buffer = io.BytesIO()
    sequence[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=sequence[1:],
        duration=ms_per_frame,
        loop=0,
    )
    return buffer.getvalue()


def upload_to_digit(data: bytes) -> torch.Tensor:
    """An uploaded PNG/JPEG -> (1, 28, 28) float digit, white on black like MNIST.

    Converted to grayscale (alpha composited on white), inverted when dark-on-light, fitted into a
    20x20 box and centred in 28x28 as MNIST is. Anything else raises UploadError.
    """
    if not data:
        raise UploadError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is {len(data) / 1e6:.1f} MB; the limit is 5 MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ("PNG", "JPEG"):
                raise UploadError(f"a {probe.format} file; upload a PNG or JPEG")
            if probe.width * probe.height > MAX_UPLOAD_PIXELS:
                raise UploadError(
                    f"the image is {probe.width}x{probe.height}; too large to be a digit"
                )
            probe.load()
            image = _grayscale(probe)
    except UploadError:
        raise
    except Image.DecompressionBombError as err:
        raise UploadError("the image's dimensions are too large to be a digit") from err
    except Image.UnidentifiedImageError as err:  # its message is a repr of our BytesIO
        raise UploadError("not a readable PNG or JPEG (not an image file)") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise UploadError(f"not a readable PNG or JPEG ({err})") from err
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.mean() > 0.5:  # dark ink on light paper: invert to MNIST's white on black
        array = 1.0 - array
    return _center_in_box(array)


def _grayscale(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = max(float(array.max()), 1.0)
        return Image.fromarray((array / top * 255.0).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("L")
    return image.convert("L")


def _center_in_box(array: np.ndarray) -> torch.Tensor:
    """Crop to the ink, fit it into 20x20 keeping the aspect ratio, centre it in 28x28."""
    ink = array > 0.1
    if ink.any():
        rows, cols = np.where(ink)
        array = array[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = array.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray((array * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("L", (28, 28), 0)
    canvas.paste(small, ((28 - size[0]) // 2, (28 - size[1]) // 2))
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).unsqueeze(0)


def data_url(array: np.ndarray) -> str:
    """A 2-D uint8 array as a PNG data URL, at model resolution (the browser scales it)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png_bytes(array, scale=1)).decode()


def sprite(frames: torch.Tensor | np.ndarray, ncol: int | None = None) -> str:
    """Frames (K, 28, 28) side by side without gaps (or ``ncol`` per row) as one data URL."""
    return data_url(grid(frames, ncol=ncol or len(frames), pad=0))
