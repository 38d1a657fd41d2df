"""A fresh clone of the working tree, for benchmarks of a first start (bench/views.py): every
file git tracks or would track (so ``checkpoints/precomputed/`` ships with it, or is made once by
``python -m explorer.precompute`` and kept for later runs), in a temporary folder that
:meth:`Clone.reset` returns to that state (run-time caches, ONNX exports and map files gone).
Its data cache is a folder of its own (``LATENT_EXPLORER_CACHE``), so no cache of this machine
is read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.browser import ROOT

SHIPPED = Path("checkpoints") / "precomputed"


class Clone:
    """A fresh clone of the working tree in a temporary folder, reset to it before every run."""

    def __init__(self, shipped_cache: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-views-"))
        listed = subprocess.run(
            ["git", "ls-files", "-z", "-co", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        self.files = {Path(p) for p in listed.split("\0") if p and (ROOT / p).is_file()}
        for rel in self.files:
            (self.dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, self.dir / rel)
        if not any(p.parent == SHIPPED for p in self.files):
            self._add_shipped(shipped_cache)
        self.manifest = {p for p in self.dir.rglob("*") if p.is_file()}
        self.data_cache = self.dir / ".bench-data-cache"

    def _add_shipped(self, shipped_cache: Path) -> None:
        """The shipped results, made once by their generator and kept for later runs."""
        target = self.dir / SHIPPED
        if shipped_cache.is_dir():
            shutil.copytree(shipped_cache, target, dirs_exist_ok=True)
        print("python -m explorer.precompute (shipped results; kept ones are reused)", flush=True)
        subprocess.run(
            [sys.executable, "-m", "explorer.precompute", str(self.dir / "checkpoints")],
            cwd=self.dir,
            check=True,
            env={**os.environ, "LATENT_EXPLORER_CACHE": str(self.dir / ".precompute-cache")},
        )
        shutil.rmtree(self.dir / ".precompute-cache", ignore_errors=True)
        shutil.rmtree(self.dir / "checkpoints" / ".cache", ignore_errors=True)
        shutil.rmtree(shipped_cache, ignore_errors=True)  # stale results go with it
        shutil.copytree(target, shipped_cache)

    def reset(self, keep_data: bool = False) -> None:
        """Delete every file a run wrote (run-time caches, exports, map files); with
        ``keep_data`` the data cache stays (a restart on a machine that ran the app before)."""
        for path in sorted(self.dir.rglob("*"), reverse=True):
            kept = path in self.manifest or (keep_data and self.data_cache in path.parents)
            if path.is_file() and not kept:
                path.unlink()

    def fill_data_cache(self) -> None:
        """Parse and split the bundled checkpoints' digits once into the data cache."""
        code = (
            "from explorer import checkpoints, data\n"
            "for path in checkpoints.discover(checkpoints.Path('checkpoints')).values():\n"
            "    ckpt = checkpoints.load(path)\n"
            "    data.load_parts(data.Split.from_dict(ckpt.meta.get('split', {})))\n"
        )
        subprocess.run(
            [sys.executable, "-c", code], cwd=self.dir, env={**os.environ, **self.env()}, check=True
        )

    def env(self) -> dict:
        return {"LATENT_EXPLORER_CACHE": str(self.data_cache)}

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
