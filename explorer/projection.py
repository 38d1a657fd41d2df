"""2-D maps of latent codes: t-SNE (openTSNE), UMAP (umap-learn) and PCA, cached on disk per
checkpoint.

t-SNE: van der Maaten & Hinton, "Visualizing Data using t-SNE", JMLR 2008, computed with
openTSNE's FFT-accelerated gradients (Linderman et al., Nature Methods 2019; Poličar et al.,
"openTSNE", JSS 2024), which also places new points into an existing map (``transform``).
UMAP: McInnes, Healy & Melville, "UMAP: Uniform Manifold Approximation and Projection for
Dimension Reduction", arXiv:1802.03426, 2018, with umap-learn's defaults (15 neighbours,
min_dist 0.1); its ``transform`` places new points.

The cache holds plain ``.npy`` coordinates (read with ``allow_pickle=False``), keyed by the
checkpoint's SHA-256 and the map's parameters; nothing fitted is ever pickled. Placing new points
rebuilds what the method needs in memory: openTSNE's affinities of the cached codes (a fraction of
a second for a few thousand points), or a UMAP fitted to the cached codes with the cached
coordinates as its embedding (see :func:`umap_place`). umap-learn compiles its numba code on first
use (seconds to a minute on 2 busy cores), so it is imported only to compute a map or to place
points, never to show a cached map.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_PERPLEXITY = 30.0
# openTSNE's default learning rate N / exaggeration (Belkina et al., "Automated optimized
# parameters for t-distributed stochastic neighbor embedding", Nat. Commun. 2019) lets early
# exaggeration settle in fewer than its default 250 iterations: on the bundled VAE's 5,000 codes,
# 150 + 250 iterations reach a KL divergence of 1.59 against 1.58 for 250 + 300, with the same
# 10-NN digit accuracy on the map (0.94), in 7 s rather than 10 s on 2 cores.
EARLY_ITER = 150
N_ITER = 250
# Exact neighbours (a ball tree) beat Annoy's approximate index below ~10,000 low-dimensional
# codes: 0.25 s against 1.8 s for 5,000 16-d codes, and no randomness in the graph.
NEIGHBORS = "exact"
MAP_VERSION = 2  # part of the cache key: maps made by older settings are not reused
METHODS = {"tsne": "t-SNE", "umap": "UMAP", "pca": "PCA"}  # method -> its name on the page
UMAP_NEIGHBORS = 15  # umap-learn's defaults: the fuzzy graph's neighbours and the points' spread
UMAP_MIN_DIST = 0.1


@dataclass(frozen=True)
class MapParams:
    """What a map depends on besides the codes themselves (``perplexity`` only for t-SNE)."""

    method: str = "tsne"  # or "umap", "pca"
    perplexity: float = DEFAULT_PERPLEXITY
    seed: int = 0

    def key(self, checkpoint_sha: str, codes: np.ndarray) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(codes, dtype=np.float32).tobytes()).hexdigest()
        text = f"{checkpoint_sha}|{digest[:16]}|{self.method}|{self.perplexity:g}|{self.seed}"
        text += f"|v{MAP_VERSION}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def pca_fit(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), top-2 principal axes (2, d)) of the codes, by SVD."""
    mean = codes.mean(0)
    _, _, vh = np.linalg.svd(codes - mean, full_matrices=False)
    axes = vh[:2]
    # Fix each axis's sign so the map does not flip between runs: largest loading positive.
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])
    return mean, axes * signs[:, None]


def pca_map(codes: np.ndarray) -> np.ndarray:
    mean, axes = pca_fit(codes)
    return (codes - mean) @ axes.T


def tsne_map(
    codes: np.ndarray,
    perplexity: float = DEFAULT_PERPLEXITY,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """t-SNE coordinates (N, 2); ``progress`` receives the fraction done every 50 iterations."""
    total = EARLY_ITER + N_ITER
    done = [0]

    def callback(iteration, error, embedding):  # openTSNE's callback signature
        done[0] += 50
        if progress:
            progress(min(done[0] / total, 1.0))
        return False

    import openTSNE  # with scikit-learn, seconds to import: only when a map is computed

    tsne = openTSNE.TSNE(
        perplexity=min(perplexity, (len(codes) - 1) / 3),
        early_exaggeration_iter=EARLY_ITER,
        n_iter=N_ITER,
        neighbors=NEIGHBORS,
        random_state=seed,
        n_jobs=2,  # a rare, cached computation: worth both cores
        callbacks=callback,
        callbacks_every_iters=50,
    )
    return np.asarray(tsne.fit(np.asarray(codes, dtype=np.float64)))


# Optimisation steps for new points. On the bundled VAE's 5,000-code map, 50 steps leave 50 prior
# samples within 0.04 % of the map's size of where 250 steps (openTSNE's default) put them, in a
# fifth of the time.
PLACE_ITERATIONS = 50
_PLACERS: dict[
    str, object
] = {}  # per map, openTSNE's embedding, in memory: affinities take seconds


def tsne_place(
    codes: np.ndarray, coords: np.ndarray, new_codes: np.ndarray, perplexity: float, seed: int = 0
) -> np.ndarray:
    """Place new codes into an existing t-SNE map (openTSNE's ``transform``): (M, 2).

    The reference affinities are built once per map and kept in memory (never pickled to disk).
    """
    codes = np.asarray(codes, dtype=np.float64)
    key = hashlib.sha256(
        codes.tobytes() + np.asarray(coords).tobytes() + f"{perplexity}|{seed}".encode()
    ).hexdigest()
    embedding = _PLACERS.get(key)
    if embedding is None:
        import openTSNE

        affinities = openTSNE.affinity.PerplexityBasedNN(
            codes,
            perplexity=min(perplexity, (len(codes) - 1) / 3),
            method=NEIGHBORS,
            random_state=seed,
            n_jobs=1,
        )
        embedding = openTSNE.TSNEEmbedding(coords, affinities, random_state=seed)
        if len(_PLACERS) >= 8:
            _PLACERS.pop(next(iter(_PLACERS)))
        _PLACERS[key] = embedding
    placed = embedding.transform(np.asarray(new_codes, dtype=np.float64), n_iter=PLACE_ITERATIONS)
    return np.asarray(placed)


def _umap(seed: int, **options):
    import umap  # seconds to import (numba): only when a UMAP is computed or points are placed

    return umap.UMAP(
        n_neighbors=UMAP_NEIGHBORS,
        min_dist=UMAP_MIN_DIST,
        random_state=seed,  # deterministic; umap-learn then runs on one thread
        transform_seed=seed,
        n_jobs=1,
        **options,
    )


def umap_map(codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """UMAP coordinates (N, 2)."""
    return np.asarray(_umap(seed).fit_transform(np.asarray(codes, dtype=np.float32)), float)


_REDUCERS: dict[str, object] = {}  # per map, in memory only: a fitted UMAP is never pickled


def umap_place(
    codes: np.ndarray, coords: np.ndarray, new_codes: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Place new codes into an existing UMAP map (umap-learn's ``transform``): (M, 2).

    ``transform`` needs a fitted UMAP: its neighbour index and fuzzy graph of the codes, and its
    embedding. When none is in memory (a new server, or a map read from the disk cache) one is
    refitted deterministically (the same seed) and given the cached coordinates as its embedding,
    so new points land in the map on the screen, not in a refit's slightly different one. The
    refit's own layout is skipped (one epoch from the cached coordinates): only its graph is used.
    """
    codes = np.asarray(codes, dtype=np.float32)
    coords = np.asarray(coords, dtype=np.float32)
    key = hashlib.sha256(codes.tobytes() + coords.tobytes() + f"{seed}".encode()).hexdigest()
    reducer = _REDUCERS.get(key)
    if reducer is None:
        reducer = _umap(seed, init=coords, n_epochs=1).fit(codes)
        reducer.embedding_ = coords.copy()
        reducer.n_epochs = None  # transform's own default: 100 epochs for the new points
        if len(_REDUCERS) >= 4:
            _REDUCERS.pop(next(iter(_REDUCERS)))
        _REDUCERS[key] = reducer
    return np.asarray(reducer.transform(np.asarray(new_codes, dtype=np.float32)), float)


def place(
    codes: np.ndarray, coords: np.ndarray, new_codes: np.ndarray, params: MapParams
) -> np.ndarray:
    """New codes in the coordinates of a map made with ``params``."""
    if params.method == "pca":
        mean, axes = pca_fit(codes)
        return (new_codes - mean) @ axes.T
    if params.method == "umap":
        return umap_place(codes, coords, new_codes, params.seed)
    return tsne_place(codes, coords, new_codes, params.perplexity, params.seed)


def compute(
    codes: np.ndarray, params: MapParams, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    if params.method == "pca":
        return pca_map(codes)
    if params.method == "umap":
        return umap_map(codes, params.seed)
    if params.method != "tsne":
        raise ValueError(
            f"unknown map method {params.method!r}; choose one of {', '.join(METHODS)}"
        )
    return tsne_map(codes, params.perplexity, params.seed, progress)


def cache_path(codes: np.ndarray, params: MapParams, checkpoint_sha: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"map-{params.key(checkpoint_sha, codes)}.npy"


def cached(codes: np.ndarray, params: MapParams, checkpoint_sha: str, cache_dir: Path):
    """The map's coordinates from the disk cache, or None (missing or damaged)."""
    path = cache_path(codes, params, checkpoint_sha, cache_dir)
    try:
        coords = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None  # missing, or a damaged entry that the next computation overwrites
    return coords if coords.shape == (len(codes), 2) else None


def cached_map(
    codes: np.ndarray,
    params: MapParams,
    checkpoint_sha: str,
    cache_dir: Path,
    progress: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, bool]:
    """(coords, came_from_cache). Computes and stores the map on a miss."""
    coords = cached(codes, params, checkpoint_sha, cache_dir)
    if coords is not None:
        return coords, True
    coords = compute(codes, params, progress)
    _atomic_save(cache_path(codes, params, checkpoint_sha, cache_dir), coords)
    return coords, False


def _atomic_save(path: Path, array: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".map-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only install still works, it just recomputes
