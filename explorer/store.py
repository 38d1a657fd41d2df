"""Results computed once per checkpoint and code version, kept as plain arrays (never pickles).

The AE vs VAE page's studies, atlases and sample reports take seconds to compute and do not
change until a checkpoint (or the code that computes them) does. A result is named by a key made
of its kind, the kind's code version and the hashes of its inputs (:func:`key`), and looked up
in two folders:

- ``shipped``: ``checkpoints/precomputed/``, committed beside the bundled checkpoints and written
  by ``python -m explorer.precompute``: a fresh clone's first views need no computation;
- ``cache``: ``checkpoints/.cache/results/``, written at run time (a custom study, a retrained
  checkpoint). It has a size cap: past it, the files read longest ago go first.

Writes are atomic (a temporary file, then a rename), so a reader never sees half a result, and a
corrupt or unreadable file is treated as missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_CAP_BYTES = 200 * 2**20  # the run-time cache of a class server: about 100 custom studies


def key(kind: str, version: int, *parts: object) -> str:
    """A result's file name (without ``.npz``): ``<kind>-v<version>-<hash of parts>``."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
    return f"{kind}-v{version}-{digest}"


class Store:
    """Arrays by key, from the shipped folder or the capped run-time cache."""

    def __init__(self, shipped: Path, cache: Path, cap_bytes: int = DEFAULT_CAP_BYTES) -> None:
        self.shipped, self.cache, self.cap_bytes = Path(shipped), Path(cache), cap_bytes
        self._lock = threading.Lock()

    def get(self, name: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``name``, or None. A cache hit is marked as read now, so the
        eviction drops what was read longest ago."""
        for folder in (self.shipped, self.cache):
            arrays = _read(folder / f"{name}.npz")
            if arrays is not None:
                if folder == self.cache:
                    _touch(folder / f"{name}.npz")
                return arrays
        return None

    def put(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Keep ``arrays`` in the run-time cache (an unwritable folder only costs the time to
        compute them again), then evict down to the cap."""
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.cache, suffix=".tmp", delete=False) as tmp:
                np.savez(tmp, **arrays)
            os.replace(tmp.name, self.cache / f"{name}.npz")
        except OSError:
            return
        self.evict()

    def has(self, name: str) -> bool:
        """Whether a result is stored under ``name`` (without reading it)."""
        return any((folder / f"{name}.npz").is_file() for folder in (self.shipped, self.cache))

    def get_or_make(self, name: str, make: Callable[[], dict[str, np.ndarray]]) -> dict:
        """The stored result, else ``make()``'s, stored. Two threads that want the same missing
        result (a page and the warm-up) compute it once: the second waits for the first."""
        found = self.get(name)
        if found is not None:
            return found
        with _making(self.cache / name):
            found = self.get(name)
            if found is None:
                found = make()
                self.put(name, found)
        return found

    def evict(self) -> list[str]:
        """Delete the cache's least recently read results until it fits the cap; their names."""
        with self._lock:
            files = []
            for path in self.cache.glob("*.npz"):
                try:
                    files.append((path.stat().st_mtime, path.stat().st_size, path))
                except OSError:
                    continue
            total = sum(size for _, size, _ in files)
            dropped = []
            for _, size, path in sorted(files):
                if total <= self.cap_bytes:
                    break
                try:
                    path.unlink()
                except OSError:
                    continue
                total -= size
                dropped.append(path.stem)
            return dropped


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _making(path: Path) -> threading.Lock:
    """One lock per result being made, for every Store of the process."""
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(path, threading.Lock())


def _read(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)
