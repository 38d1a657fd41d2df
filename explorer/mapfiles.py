"""What the Latent map's browser component fetches, as files named by their content's hash in
``static/maps/`` (served at ``app/static/maps/``), so a browser fetches each once and shows the
picture under the pointer without asking the server:

- the points' **sprite sheet**: a PNG of their 28 x 28 digits in row order, :func:`sprite_columns`
  per row, as TensorFlow's Embedding Projector cuts its hover images from one sprite;
- **JSON** of the points' digits, parts and attributes, of each map's coordinates, and of the
  per-point neighbourhood overlap.

Where the folder cannot be written (a read-only install) the same content goes inline as a data
URL, which ``fetch`` and ``<img>`` read alike. Also the neighbours view's strip of digits with
the shared ones framed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer import images

if TYPE_CHECKING:
    from explorer.maps import Points

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "maps"
STATIC_URL = "app/static/maps"  # page-relative, as Streamlit serves it
STATIC_KEEP = 400  # files kept in STATIC_DIR: the oldest go when more are written


def atomic_write(path: Path, content: bytes) -> bool:
    """Write ``content`` to ``path`` whole or not at all; False when the folder is read-only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a server run by another user
        os.replace(tmp, path)
        return True
    except OSError:
        return False


def _publish(stem: str, suffix: str, content: bytes, mime: str) -> str:
    """A URL of ``content``: a file in STATIC_DIR named by its hash (written once), or a data URL
    when the folder cannot be written."""
    name = f"{stem}-{hashlib.sha256(content).hexdigest()[:20]}{suffix}"
    path = STATIC_DIR / name
    if path.is_file() or atomic_write(path, content):
        _prune()
        return f"{STATIC_URL}/{name}"
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def _prune() -> None:
    try:
        files = sorted(STATIC_DIR.iterdir(), key=lambda p: p.stat().st_mtime)
        for old in files[:-STATIC_KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def json_url(stem: str, payload: dict) -> str:
    return _publish(
        stem, ".json", json.dumps(payload, separators=(",", ":")).encode(), "application/json"
    )


def sprite_columns(n: int) -> int:
    """Tiles per row of a sprite sheet of n digits: square, as the Projector's."""
    return max(1, int(np.ceil(np.sqrt(n))))


@functools.lru_cache(maxsize=8)
def _sprite_png(pts: Points) -> bytes:
    tiles = images.grid(pts.images, ncol=sprite_columns(len(pts)), pad=0)
    return images.png_bytes(tiles, scale=1)


def sprite_url(pts: Points) -> str:
    """The points' sprite sheet: 28 x 28 tiles in row order, :func:`sprite_columns` per row."""
    return _publish(f"sprite-{pts.digest}", ".png", _sprite_png(pts), "image/png")


def framed_strip(
    pixels: torch.Tensor, framed: list[bool], pad: int = 2, scale: int = 3
) -> np.ndarray:
    """Digits (n, 1, 28, 28) in a row as RGB (h, w, 3) uint8, each ``framed`` one inside a green
    frame of ``pad`` px (the others' frames black), upscaled ``scale`` times."""
    tiles = images.to_uint8(pixels)
    n, h, w = tiles.shape
    out = np.zeros((h + 2 * pad, n * (w + 2 * pad), 3), dtype=np.uint8)
    for i, (tile, frame) in enumerate(zip(tiles, framed, strict=True)):
        left = i * (w + 2 * pad)
        if frame:
            out[:, left : left + w + 2 * pad] = (40, 200, 90)
        out[pad : pad + h, left + pad : left + pad + w] = tile[..., None]
    return np.repeat(np.repeat(out, scale, axis=0), scale, axis=1)


def _rounded(values: np.ndarray, digits: int) -> list:
    """Values as JSON numbers (NaN as null) rounded to ``digits`` decimals."""
    array = np.round(np.asarray(values, dtype=np.float64), digits)
    return [None if v != v else v for v in array.tolist()]


def points_url(pts: Points, attrs: dict[str, np.ndarray] | None) -> str:
    """JSON of the points' digits, where each came from, and their attributes if measured."""
    payload = {
        "labels": pts.labels.tolist(),
        "parts": [list(p) for p in pts.parts],
        "attributes": {k: _rounded(v, 2) for k, v in (attrs or {}).items()},
    }
    return json_url(f"points-{pts.digest}", payload)


def coords_url(coords: np.ndarray) -> str:
    """JSON of a map's coordinates, x and y flat (4 significant digits of the map's size)."""
    scale = float(np.ptp(coords)) or 1.0
    digits = max(0, 4 - int(np.floor(np.log10(scale))))
    return json_url(
        "coords", {"x": _rounded(coords[:, 0], digits), "y": _rounded(coords[:, 1], digits)}
    )


def values_url(stem: str, values: np.ndarray) -> str:
    return json_url(stem, {"values": _rounded(values, 3)})
