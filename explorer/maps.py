"""What the Latent map shows, computed once and kept on disk as plain arrays (never pickles).

- **Points**: the held-out digits of a checkpoint's split, or all of its digits (held-out first,
  so that row r < 500 is held-out digit r in either set, then validation, then training).
- **Codes** of those points per model, keyed by the checkpoint's SHA-256 and the pixels' hash.
- **Maps** (explorer/projection.py) and each map's **trustworthiness** (k = 10, in the codes).
- **Neighbourhood overlap** of two models over the points (explorer/neighbours.py), with a
  bootstrap interval of its mean over the digits.
- **Attributes**: Morpho-MNIST's six measures of the points' digits (explorer/morphometrics.py),
  keyed by the pixels alone (they do not depend on a model); slant in degrees.

What the browser fetches (the sprite sheet, the JSON of points and coordinates) is made from
these by :mod:`explorer.mapfiles`.

``python -m explorer.maps`` fills every cache for the bundled AE and VAE (run it after retraining:
a class's first view then reads files) and prints the trustworthiness table.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explorer import attributes, data, mapfiles, markdown, neighbours, projection, smoothness, views

ROOT = Path(__file__).resolve().parents[1]
POINT_SETS = ("held_out", "all")
ATTRIBUTES, UNITS = attributes.NAMES, attributes.UNITS  # slant in degrees, as on the sliders
VERSION = 1  # part of every key here: results of older code are not reused


@dataclass(frozen=True, eq=False)
class Points:
    """The digits a map shows, in row order, with where each came from."""

    images: torch.Tensor  # (N, 1, 28, 28)
    labels: np.ndarray  # (N,)
    parts: tuple[tuple[str, int], ...]  # ("held-out", 500), ("validation", 500), ("training", …)
    digest: str  # of the pixels and labels: the key of everything computed from them

    def __len__(self) -> int:
        return len(self.labels)

    def where(self, row: int) -> tuple[str, int]:
        """(part, index within it) of a row: ("held-out", 12)."""
        start = 0
        for part, size in self.parts:
            if row < start + size:
                return part, row - start
            start += size
        raise IndexError(f"row {row} is outside the {len(self)} points")

    @property
    def held_out(self) -> int:
        """How many rows, from the first, are held-out digits."""
        return self.parts[0][1]


@functools.lru_cache(maxsize=4)
def points(split: data.Split, which: str = "held_out") -> Points:
    """The held-out digits of ``split`` (``which`` = "held_out") or all of them ("all")."""
    if which not in POINT_SETS:
        raise ValueError(f"unknown point set {which!r}; choose one of {', '.join(POINT_SETS)}")
    test = data.load_test(split)
    groups = [("held-out", test)]
    if which == "all":
        train, val, _ = data.load_parts(split)
        groups += [("validation", val), ("training", train)]
    groups = [(name, d) for name, d in groups if len(d)]
    pixels = torch.cat([d.images for _, d in groups])
    labels = torch.cat([d.labels for _, d in groups]).numpy()
    digest = hashlib.sha256(pixels.numpy().tobytes() + labels.tobytes()).hexdigest()[:24]
    return Points(pixels, labels, tuple((n, len(d)) for n, d in groups), digest)


def size(split: data.Split, which: str = "held_out") -> int:
    """How many digits :func:`points` holds, without gathering them."""
    if which == "held_out":
        return len(data.load_test(split))
    return sum(len(part) for part in data.load_parts(split))


# ---- Arrays on disk ------------------------------------------------------------------------------


def _load(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    try:
        found = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None  # missing or damaged: computed again and rewritten
    return found if found.shape == shape else None


def _save(path: Path, array: np.ndarray) -> None:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    mapfiles.atomic_write(path, buffer.getvalue())


def codes_path(sha256: str, pts: Points, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"codes-{sha256[:24]}-{pts.digest}-v{VERSION}.npy"


def codes(model, sha256: str, pts: Points, cache_dir: Path) -> np.ndarray:
    """(N, d) codes of the points (an AE's code, a VAE's posterior mean), kept on disk."""
    path = codes_path(sha256, pts, cache_dir)
    try:
        found = np.load(path, allow_pickle=False)
        if found.ndim == 2 and found.shape[0] == len(pts):
            return found
    except (OSError, ValueError):
        pass  # missing or damaged: encoded again and rewritten
    out = views.encode(model, pts.images).numpy().astype(np.float32)
    _save(path, out)
    return out


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, np.float32).tobytes()).hexdigest()[:24]


def trustworthiness(codes_: np.ndarray, coords: np.ndarray, cache_dir: Path) -> float:
    """The map's trustworthiness (k = 10), kept on disk by the codes' and the map's hashes."""
    key = hashlib.sha256(f"{digest(codes_)}|{digest(coords)}".encode()).hexdigest()[:24]
    path = Path(cache_dir) / f"trust-{key}-k{neighbours.K}-v{VERSION}.npy"
    found = _load(path, ())
    if found is not None:
        return float(found)
    value = neighbours.trustworthiness(codes_, coords, neighbours.K)
    _save(path, np.float64(value))
    return value


@dataclass(frozen=True)
class Overlap:
    """Per point, the Jaccard overlap of its k = 10 nearest neighbours in two models' codes, their
    mean with a bootstrap interval over the points, and the mean that chance would give."""

    values: np.ndarray
    mean: smoothness.Estimate
    chance: float


def overlap(codes_a: np.ndarray, codes_b: np.ndarray, cache_dir: Path) -> Overlap:
    """:class:`Overlap` of two models' codes of the same points, kept on disk."""
    key = f"{digest(codes_a)}-{digest(codes_b)}-k{neighbours.K}-v{VERSION}"
    path = Path(cache_dir) / f"overlap-{key}.npy"
    values = _load(path, (len(codes_a),))
    if values is None:
        values = neighbours.overlap(codes_a, codes_b, neighbours.K)
        _save(path, values)
    summary = _load(path.with_suffix(".mean.npy"), (4,))
    if summary is None:
        # Fewer resamples for many points: the interval's ends move by < 0.002 at 10,000 points.
        estimate = smoothness.bootstrap(values, n_boot=2000 if len(values) <= 2000 else 500)
        summary = np.array([estimate.value, estimate.low, estimate.high, estimate.n], float)
        _save(path.with_suffix(".mean.npy"), summary)
    mean = smoothness.Estimate(*summary[:3], int(summary[3]))
    return Overlap(values, mean, neighbours.chance_overlap(len(values), neighbours.K))


def attributes(pts: Points, cache_dir: Path) -> dict[str, np.ndarray]:
    """The six Morpho-MNIST measures of the points' digits by name (NaN where no stroke; slant
    in degrees, positive when the top leans right), kept on disk by the pixels' hash (about 1 s of
    CPU per 1,000 digits the first time)."""
    from explorer import morphometrics

    path = Path(cache_dir) / f"morpho-map-{pts.digest}-v{VERSION}.npy"
    table = _load(path, (len(pts), len(ATTRIBUTES)))
    if table is None:
        measured = morphometrics.measure(pts.images).as_dict()
        measured["slant"] = np.degrees(measured["slant"])
        table = np.stack([measured[name] for name in ATTRIBUTES], axis=1)
        _save(path, table)
    return {name: table[:, i] for i, name in enumerate(ATTRIBUTES)}


# ---- Warming every cache -------------------------------------------------------------------------


def warm(
    checkpoint_dir: Path,
    cache_dir: Path,
    sets=POINT_SETS,
    methods=tuple(projection.METHODS),
    names=("ae", "vae"),
    say=print,
) -> list[dict]:
    """Compute and keep every map, trustworthiness, overlap and attribute the page can show for
    the bundled models ``names``; returns one row per (set, method, model) for the table."""
    import time

    from explorer import checkpoints

    ckpts = [checkpoints.load(Path(checkpoint_dir) / f"{n}.safetensors") for n in names]
    split = data.Split.from_dict(ckpts[0].meta.get("split", {}))
    rows = []
    for which in sets:
        pts = points(split, which)
        all_codes = [codes(c.model, c.sha256, pts, cache_dir) for c in ckpts]
        attributes(pts, cache_dir)
        mapfiles.sprite_url(pts)
        if len(ckpts) == 2:
            found = overlap(*all_codes, cache_dir)
            say(
                f"{which}: overlap {names[0]} vs {names[1]} {found.mean.text()} "
                f"(chance {found.chance:.3f})"
            )
        for method in methods:
            params = projection.MapParams(
                method, projection.DEFAULT_PERPLEXITY if method == "tsne" else 0.0
            )
            for ckpt, z in zip(ckpts, all_codes, strict=True):
                began = time.perf_counter()
                coords, _ = projection.cached_map(z, params, ckpt.sha256, cache_dir)
                trust = trustworthiness(z, coords, cache_dir)
                rows.append(
                    {
                        "points": which,
                        "n": len(pts),
                        "method": method,
                        "model": ckpt.name,
                        "trustworthiness": trust,
                    }
                )
                say(
                    f"{which} {method} {ckpt.name}: trustworthiness {trust:.3f} "
                    f"({time.perf_counter() - began:.1f} s)"
                )
    return rows


def table(rows: list[dict]) -> str:
    """The trustworthiness rows as a Markdown table: one row per point set and method."""
    models = sorted({r["model"] for r in rows}, key=lambda m: (len(m), m))
    lines = []
    for which in dict.fromkeys(r["points"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            cells = {r["model"]: r for r in rows if r["points"] == which and r["method"] == method}
            if cells:
                n = next(iter(cells.values()))["n"]
                values = [
                    f"{cells[m]['trustworthiness']:.3f}" if m in cells else "–" for m in models
                ]
                lines.append(
                    [f"{which.replace('_', '-')} ({n:,})", projection.METHODS[method], *values]
                )
    return markdown.table(["points", "method", *models], lines)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument("--cache", default=None, help="default: the app's (explorer.warmup)")
    parser.add_argument("--sets", nargs="+", default=list(POINT_SETS), choices=POINT_SETS)
    parser.add_argument(
        "--methods", nargs="+", default=list(projection.METHODS), choices=list(projection.METHODS)
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from explorer import warmup

    cache = Path(args.cache or warmup.checkpoint_cache(Path(args.checkpoints)))
    print(table(warm(Path(args.checkpoints), cache, args.sets, args.methods)))


if __name__ == "__main__":
    main()
