"""Turning tensors into sharp PNGs and GIFs, and uploads into 28x28 digits.

Digits are shown with nearest-neighbour upscaling (never blurry resampling or JPEG), so each model
pixel stays a crisp square on a projector.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

# One limit, as the student's browser counts it. Streamlit's uploader counts a megabyte as
# 1,000,000 bytes in the browser (1,048,576 on Windows) and as 2^20 on the server, so with
# server.maxUploadSize = 5 the browser refuses a file over 5,000,000 bytes while a direct upload
# of up to 5,242,880 bytes would reach the server: the app refuses those too, with the same words.
MB = 1_000_000
MAX_UPLOAD_BYTES = 5 * MB
# A PNG decodes in full (about 4 bytes a pixel, more while converting): 4 megapixels is any
# screenshot or scan of a digit. JPEG decodes at 1/8 scale, so a phone photo's 12 to 48 MP is
# cheap; past that nothing is a digit.
MAX_PNG_PIXELS = 4_000_000
MAX_JPEG_PIXELS = 50_000_000
WORK_SIDE = 256  # uploads are reduced to this long side before conversion and cleanup
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


def strip_with_ends(
    frames: torch.Tensor, a: torch.Tensor, b: torch.Tensor, gap: int = 6
) -> np.ndarray:
    """A strip of ``frames`` (N, 1, H, W) with the images ``a`` and ``b`` (1, H, W) at its ends,
    each set off by a grey bar ``gap`` px wide: the originals beside a model's path between
    them."""
    strip = grid(frames, ncol=len(frames))
    ends = [to_uint8(image[None])[0] for image in (a, b)]
    bar = np.full((strip.shape[0], gap), 128, dtype=np.uint8)
    return np.concatenate([ends[0], bar, strip, bar, ends[1]], axis=1)


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

    :func:`open_upload` reduces and converts it, :func:`preprocess_digit` cleans it up the
    way MNIST was made. Anything that is not a usable image raises UploadError.
    """
    return read_upload(data)[1]


def read_upload(data: bytes) -> tuple[np.ndarray, torch.Tensor]:
    """(the upload reduced to grayscale uint8, as :func:`open_upload` sees it; the digit)."""
    gray = open_upload(data)
    digit = preprocess_digit(gray)
    if not bool(digit.any()):
        raise UploadError("no digit found: the image is blank")
    return (gray * 255.0 + 0.5).astype(np.uint8), digit


def open_upload(data: bytes) -> np.ndarray:
    """PNG/JPEG/MPO bytes -> a small grayscale float32 array in [0, 1] (long side at most
    ``WORK_SIDE``), upright by its EXIF orientation, alpha composited on white.

    The image is reduced before any conversion: JPEG decodes straight at 1/2 to 1/8 scale
    (``Image.draft``), so a 12-megapixel phone photo costs about 1/64 of a full decode; PNG
    (which cannot decode at a reduced scale) is capped at ``MAX_PNG_PIXELS``.
    """
    if not data:
        raise UploadError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"the file is {len(data) / MB:.1f} MB; the limit is {MAX_UPLOAD_BYTES // MB} MB"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG", "MPO"):
                raise UploadError(f"a {image.format} file; upload a PNG or JPEG")
            limit = MAX_PNG_PIXELS if image.format == "PNG" else MAX_JPEG_PIXELS
            if image.width * image.height > limit:
                raise UploadError(
                    f"the image is {image.width}x{image.height}, over {limit / 1e6:g} "
                    "megapixels; too large to be a digit"
                )
            if image.format != "PNG":
                image.draft("L", (WORK_SIDE, WORK_SIDE))  # decodes at the smallest scale >= this
            image.load()
            small = _reduced(image)
            small = ImageOps.exif_transpose(small)
            gray = _grayscale(small)
    except UploadError:
        raise
    except Image.DecompressionBombError as err:
        raise UploadError("the image's dimensions are too large to be a digit") from err
    except Image.UnidentifiedImageError as err:  # its message is a repr of our BytesIO
        raise UploadError("not a readable PNG or JPEG (not an image file)") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise UploadError(f"not a readable PNG or JPEG ({err})") from err
    return np.asarray(gray, dtype=np.float32) / 255.0


def _reduced(image: Image.Image) -> Image.Image:
    """A copy with its long side at most WORK_SIDE (palette images are converted first:
    resampling palette indices would be meaningless; 16-bit grey becomes 32-bit "I", which
    Pillow's reduce(), used by thumbnail() beyond 2x WORK_SIDE, accepts and "I;16" does not)."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("I;16", "I;16B", "I;16L"):
        image = image.convert("I")
    else:
        image = image.copy()
    image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    return image


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


def preprocess_digit(gray: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A grayscale picture of one digit (H, W), any size, floats in [0, 1] or uint8 ->
    (1, 28, 28) float digit made the way MNIST's were (LeCun et al., 1998).

    The paper's level is estimated from the picture's border and removed (with its noise), so
    grey or off-white paper becomes 0; the picture is inverted when the ink is darker than the
    paper; the ink is cropped, scaled into a 20x20 box keeping its aspect ratio and placed in
    28x28 so that its centre of mass sits at the centre. A blank picture gives zeros.
    """
    x = torch.as_tensor(np.asarray(gray), dtype=torch.float32)
    if x.ndim != 2 or min(x.shape) < 1:
        raise ValueError(f"expected a 2-D grayscale array, got shape {tuple(x.shape)}")
    if x.max() > 1.0:
        x = x / 255.0
    x = torch.nan_to_num(x).clamp(0.0, 1.0)
    if max(x.shape) > WORK_SIDE:  # cost bounded for any input size
        scale = WORK_SIDE / max(x.shape)
        size = (max(1, round(x.shape[0] * scale)), max(1, round(x.shape[1] * scale)))
        x = F.interpolate(x[None, None], size=size, mode="area")[0, 0]
    ink = _ink(x)
    if not bool(ink.any()):
        return torch.zeros(1, 28, 28)
    return _center_by_mass(_fit_box(_crop(ink)))


DRAW_SIDE = 56  # static/components/draw_canvas.js sends its drawing at this size


def drawing_pixels(value: object) -> np.ndarray | None:
    """The grayscale (DRAW_SIDE, DRAW_SIDE) uint8 drawing a draw-canvas component sent, or None
    when there is none (cleared, nothing drawn yet) or it is malformed: a browser can send any
    JSON, so only exactly DRAW_SIDE² bytes of base64 are used."""
    import base64
    import binascii

    if not isinstance(value, dict) or value.get("side") != DRAW_SIDE:
        return None
    text = value.get("pixels")
    if not isinstance(text, str) or not text or len(text) > 4 * DRAW_SIDE * DRAW_SIDE:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != DRAW_SIDE * DRAW_SIDE:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(DRAW_SIDE, DRAW_SIDE).copy()


def _ink(x: torch.Tensor) -> torch.Tensor:
    """Ink strength in [0, 1] (paper 0), bright ink whichever way round the picture was."""
    ring = _border(x)
    paper = ring.median()
    dark = paper - torch.quantile(x.flatten(), 0.01)
    light = torch.quantile(x.flatten(), 0.99) - paper
    if dark > light:  # dark ink on light paper: invert to MNIST's white on black
        x, ring, paper = 1.0 - x, 1.0 - ring, 1.0 - paper
    noise = 1.4826 * (ring - paper).abs().median()  # the paper's spread (MAD as a sigma)
    signal = (x - paper - 3.0 * noise).clamp_min(0.0)
    if signal.max() < 0.05:  # no ink above the paper's own texture
        return torch.zeros_like(x)
    level = torch.quantile(signal[signal > 0.5 * signal.max()], 0.9)
    strength = (signal / level).clamp(0.0, 1.0)
    return torch.where(strength > 0.15, strength, torch.zeros_like(strength))


def _border(x: torch.Tensor) -> torch.Tensor:
    """The pixels of the outer tenth of the picture on each side (paper, nearly always)."""
    h, w = x.shape
    bh, bw = max(1, h // 10), max(1, w // 10)
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[bh : h - bh, bw : w - bw] = False
    return x[mask]


def _crop(ink: torch.Tensor) -> torch.Tensor:
    """The rows and columns that hold the ink, ignoring specks (the outer 0.2% of its mass)."""

    def span(mass: torch.Tensor) -> tuple[int, int]:
        cumulative = mass.cumsum(0) / mass.sum()
        first = int(torch.searchsorted(cumulative, torch.tensor(0.002)))
        last = int(torch.searchsorted(cumulative, torch.tensor(0.998)))
        return first, min(last, len(mass) - 1) + 1

    r0, r1 = span(ink.sum(1))
    c0, c1 = span(ink.sum(0))
    return ink[r0:r1, c0:c1]


def _fit_box(ink: torch.Tensor, box: int = 20) -> torch.Tensor:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio (antialiased)."""
    h, w = ink.shape
    scale = box / max(h, w)
    size = (max(1, min(box, round(h * scale))), max(1, min(box, round(w * scale))))
    fitted = F.interpolate(ink[None, None], size=size, mode="bilinear", antialias=True)[0, 0]
    return (fitted / fitted.max()).clamp(0.0, 1.0)  # thin strokes still peak at 1, as in MNIST


def _center_by_mass(ink: torch.Tensor, side: int = 28) -> torch.Tensor:
    """Paste into a side x side field so the centre of mass lands on the field's centre."""
    h, w = ink.shape
    total = ink.sum()
    rows = (ink.sum(1) * torch.arange(h)).sum() / total
    cols = (ink.sum(0) * torch.arange(w)).sum() / total
    centre = (side - 1) / 2
    # A symmetric stroke (a "1") puts the offset on a half pixel, where float32 noise alone
    # would pick the side; rounded to 1e-4 first, a half is a half (ties to even, as Python's
    # round), so static/components/digit_preprocess.js lands on the same pixel as this does.
    top = min(max(round(round(float(centre - rows), 4)), 0), side - h)
    left = min(max(round(round(float(centre - cols), 4)), 0), side - w)
    out = torch.zeros(1, side, side)
    out[0, top : top + h, left : left + w] = ink
    return out


def png_data_url(png: bytes) -> str:
    """PNG bytes as a data URL (the page carries the image: no request to the server)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def data_url(array: np.ndarray) -> str:
    """A 2-D uint8 array as a PNG data URL, at model resolution (the browser scales it)."""
    return png_data_url(png_bytes(array, scale=1))


def sprite(frames: torch.Tensor | np.ndarray, ncol: int | None = None) -> str:
    """Frames (K, 28, 28) side by side without gaps (or ``ncol`` per row) as one data URL."""
    return data_url(grid(frames, ncol=ncol or len(frames), pad=0))
