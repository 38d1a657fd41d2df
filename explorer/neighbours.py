"""Nearest neighbours in a latent space, how much two spaces agree on them, and how faithfully a
2-D map keeps them.

- **Neighbours**: exact k nearest codes by Euclidean distance, ties broken by row index, so a
  result never depends on a tree's or an index's choices (a test checks it against brute force).
- **Neighbourhood overlap** between two spaces (the Embedding Comparator's measure: Boggust,
  Carter & Satyanarayan, "Embedding Comparator", IUI 2022): for each item, the Jaccard index
  |A ∩ B| / |A ∪ B| of its k nearest neighbours in space A and in space B. 1: both models put the
  same digits around it; 0: none in common. Random neighbours would share about k / N.
- **Trustworthiness** (Venna & Kaski, "Neighborhood preservation in nonlinear projection
  methods", ICANN 2001; scikit-learn's ``trustworthiness``): 1 minus a penalty for points that a
  map puts among a point's k nearest but that are far down its list in the codes. 1 means the map
  invents no neighbours. Above :data:`SKLEARN_MAX` points scikit-learn's version needs an N x N
  matrix of distances and one of ranks (1.6 GB at 10,000 points), so :func:`trustworthiness`
  computes the same sum a block of rows at a time (equal to it; a test compares them).
"""

from __future__ import annotations

import numpy as np

K = 10  # neighbours per point, for the overlap and for trustworthiness
SKLEARN_MAX = 2500  # above this many points, the blocked computation (same value, less memory)
_BLOCK = 256  # rows per block: 256 x 10,000 distances are 20 MB


def _sq_distances(queries: np.ndarray, codes: np.ndarray, sq_norms: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (q, N) in float64, clipped at 0."""
    q = np.asarray(queries, dtype=np.float64)
    d = (q * q).sum(1)[:, None] - 2.0 * q @ np.asarray(codes, dtype=np.float64).T + sq_norms
    return np.maximum(d, 0.0)


def knn(codes: np.ndarray, k: int = K, rows: np.ndarray | None = None) -> np.ndarray:
    """(len(rows), k) indices of each row's k nearest other codes, nearest first, ties by index.
    ``rows`` defaults to every code. A code never counts as its own neighbour, but an identical
    code at another row does."""
    codes = np.asarray(codes, dtype=np.float64)
    n = len(codes)
    if not 0 < k < n:
        raise ValueError(f"k must be between 1 and {n - 1} for {n} codes, got {k}")
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    sq_norms = (codes * codes).sum(1)
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        d = _sq_distances(codes[block], codes, sq_norms)
        d[np.arange(len(block)), block] = np.inf  # not its own neighbour
        # A few more than k candidates, ordered by (distance, index); a row whose k-th distance
        # ties with the last candidate's is ordered over all its codes instead.
        m = min(k + 8, n - 1)
        part = np.argpartition(d, m - 1, axis=1)[:, :m]
        dist = np.take_along_axis(d, part, 1)
        order = np.lexsort((part, dist), axis=1)
        part, dist = np.take_along_axis(part, order, 1), np.take_along_axis(dist, order, 1)
        out[start : start + len(block)] = part[:, :k]
        for i in np.flatnonzero(dist[:, k - 1] >= dist[:, m - 1]) if m < n - 1 else []:
            candidates = np.flatnonzero(d[i] <= dist[i, k - 1])
            ranked = candidates[np.lexsort((candidates, d[i, candidates]))]
            out[start + i] = ranked[:k]
    return out


def nearest(codes: np.ndarray, row: int, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the k codes nearest to code ``row``, nearest first."""
    index = knn(codes, k, np.array([row]))[0]
    codes = np.asarray(codes, dtype=np.float64)
    return index, np.linalg.norm(codes[index] - codes[row], axis=1)


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, |A ∩ B| / |A ∪ B| of the index sets in row i of ``a`` and of ``b`` (n, k)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"the two neighbour lists cover {len(a)} and {len(b)} items")
    out = np.empty(len(a), dtype=np.float64)
    for i, (row_a, row_b) in enumerate(zip(a, b, strict=True)):
        set_a, set_b = set(row_a.tolist()), set(row_b.tolist())
        union = len(set_a | set_b)
        out[i] = len(set_a & set_b) / union if union else 1.0
    return out


def overlap(codes_a: np.ndarray, codes_b: np.ndarray, k: int = K) -> np.ndarray:
    """Per item, the Jaccard overlap of its k nearest neighbours in space A and in space B (the
    same items, row for row, encoded by two models)."""
    if len(codes_a) != len(codes_b):
        raise ValueError(f"the two spaces hold {len(codes_a)} and {len(codes_b)} items")
    return jaccard(knn(codes_a, k), knn(codes_b, k))


def chance_overlap(n: int, k: int = K) -> float:
    """The mean Jaccard overlap of two independent random k-sets out of the n - 1 other items, a
    floor to read a measured overlap against: s shared is hypergeometric, J = s / (2k - s)."""
    from math import comb

    pool = n - 1
    total = comb(pool, k)
    return sum(comb(k, s) * comb(pool - k, k - s) / total * s / (2 * k - s) for s in range(k + 1))


def trustworthiness(codes: np.ndarray, coords: np.ndarray, k: int = K) -> float:
    """scikit-learn's ``trustworthiness(codes, coords, n_neighbors=k)`` (Euclidean), computed
    a block of rows at a time above :data:`SKLEARN_MAX` points."""
    n = len(codes)
    if len(coords) != n:
        raise ValueError(f"{n} codes but {len(coords)} map points")
    if n <= SKLEARN_MAX:
        from sklearn.manifold import trustworthiness as sk_trustworthiness

        return float(sk_trustworthiness(codes, coords, n_neighbors=k))
    return blocked_trustworthiness(codes, coords, k)


def blocked_trustworthiness(codes: np.ndarray, coords: np.ndarray, k: int = K) -> float:
    """Trustworthiness without N x N matrices: for each point, the rank (1 = nearest) in the codes
    of each of its k nearest map points is one plus the number of codes closer to it."""
    n = len(codes)
    if k >= n / 2:
        raise ValueError(f"k ({k}) must be less than half the number of points ({n / 2})")
    codes = np.asarray(codes, dtype=np.float64)
    sq_norms = (codes * codes).sum(1)
    in_map = knn(coords, k)
    penalty = 0.0
    for start in range(0, n, _BLOCK):
        block = np.arange(start, min(start + _BLOCK, n))
        d = _sq_distances(codes[block], codes, sq_norms)
        d[np.arange(len(block)), block] = np.inf
        to_map_nn = np.take_along_axis(d, in_map[block], 1)  # (b, k)
        ranks = 1 + (d[:, None, :] < to_map_nn[:, :, None]).sum(2)
        penalty += float(np.maximum(ranks - k, 0).sum())
    return 1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
