"""LeCun's IDX format, the one full MNIST, Fashion-MNIST and KMNIST ship in: reading it with
bounds checked from the header before any data is read, writing it, and fetching those sets with
torchvision where it imports. :mod:`explorer.data` builds its ``idx:<folder>`` datasets on these.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

# Digits an IDX folder may hold, train and test files together: MNIST, Fashion-MNIST and KMNIST
# have 70,000 each. 100,000 is 78 MB as uint8 and 314 MB as float32, so a training run on the
# most this allows stays well under 2 GB; a header claiming more is refused before its data is
# read (a 762 KB gzip of zeros claiming 999,999 images once took 6.95 GB to load). Larger sets,
# such as EMNIST's 814,255, need a subset written with write_idx.
MAX_IDX_ITEMS = 100_000


# IDX magic numbers: two zero bytes, a type code (0x08 = unsigned byte) and the number of dims.
_IDX_IMAGES_MAGIC = 0x00000803
_IDX_LABELS_MAGIC = 0x00000801
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DatasetError(ValueError):
    """A dataset spec or file that cannot be read; the message names it."""


def read_idx(path: Path, expected_magic: int, max_items: int = MAX_IDX_ITEMS) -> np.ndarray:
    """Parse one IDX file (LeCun's MNIST format): big-endian magic, dims, then uint8 data.
    A header claiming over ``max_items`` items is refused before any data is read."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(4)
            if len(head) < 4:
                raise DatasetError(f"{path}: too short to be an IDX file ({len(head)} bytes)")
            magic = int.from_bytes(head, "big")
            if magic != expected_magic:
                raise DatasetError(
                    f"{path}: magic number {magic:#010x}, expected {expected_magic:#010x}"
                )
            ndim = magic & 0xFF
            dims_raw = handle.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DatasetError(f"{path}: truncated header")
            dims = [int.from_bytes(dims_raw[4 * i : 4 * i + 4], "big") for i in range(ndim)]
            _check_idx_dims(path, dims, max_items)
            expected = int(np.prod(dims))
            raw = handle.read(expected + 1)  # never more than the header allows
    except (OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot read IDX file ({err})") from err
    if len(raw) != expected:
        found = f"{len(raw)}" if len(raw) <= expected else "more"
        raise DatasetError(
            f"{path}: dimensions {dims} need {expected} bytes of data, file has {found}"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(dims)


def _check_idx_dims(path: Path, dims: list[int], max_items: int = MAX_IDX_ITEMS) -> None:
    """Refuse headers that claim more than a digit dataset can be, before reading the data."""
    if dims and dims[0] > max_items:
        left = "" if max_items == MAX_IDX_ITEMS else f" ({max_items:,} left after the train file)"
        raise DatasetError(
            f"{path}: the header claims {dims[0]:,} items; the limit is {MAX_IDX_ITEMS:,} "
            f"for train and test together{left}"
        )
    if len(dims) > 1 and dims[1:] != [28, 28]:
        raise DatasetError(f"{path}: items of shape {dims[1:]}, expected 28x28")


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write uint8 data as an IDX file (used by tests and by users converting their data)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = (0x0800 | array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())


def fetch_with_torchvision(name: str, root: Path) -> str:
    """Download full MNIST or Fashion-MNIST with torchvision; return the ``idx:`` spec for it.

    Only for users with internet and a torchvision that imports; otherwise one clear error.
    """
    sources = {"mnist": "MNIST", "fashion": "FashionMNIST"}
    if name not in sources:
        raise DatasetError(f"unknown torchvision dataset {name!r}; choose mnist or fashion")
    try:
        import torchvision.datasets as tv
    except Exception as err:  # CUDA-only wheels beside the CPU torch fail with RuntimeError
        raise DatasetError(
            f"torchvision is not importable here ({type(err).__name__}); download the four IDX "
            "files yourself and pass --dataset idx:<folder>"
        ) from err
    cls = getattr(tv, sources[name])
    for train in (True, False):
        cls(str(root), train=train, download=True)
    return f"idx:{Path(root) / sources[name] / 'raw'}"


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(f"{folder}: missing IDX file {stem} (or {stem}.gz)")
