"""Prior coverage: do the codes one samples from land where the encoder put the data?

A decoder has only learned to draw digits near the codes it was trained on. Sampling a model
means drawing codes from a distribution (N(0, I) for a VAE; for an AE, N(0, I) or a Gaussian
fitted to its codes) and decoding them; a sample that lands far from every encoded training code
asks the decoder for something it never saw. These measures need no classifier:

- **Spacing**: each encoded code's distance to its nearest *other* code (leave-one-out). Its
  median is the unit in which every other distance here is given, so a d = 2 AE whose codes
  spread ten times wider than a VAE's is judged on its own scale.
- **Coverage**: each sample's distance to its nearest code, in spacing units, and whether it is
  *far*: farther than the 99th percentile of the codes' own nearest-neighbour distances. If the
  samples came from the same distribution as the codes, a sample's nearest-code distance would
  be distributed like a code's leave-one-out one, so about 1 % would be far: the far share's
  excess over 1 % is the sampling distribution's mass where the codes are not. (A global radius
  rather than one per code, as in Kynkäänniemi et al.'s k-NN "precision", NeurIPS 2019, so that
  the same radius can be drawn over a plane.)
- **Which codes**: what the decoder was trained on. An AE's codes f(x); a VAE's draws
  z ~ q(z|x), one per digit, not its means μ, which sit closer to 0 (on the bundled d = 16 VAE,
  40 % of N(0, I) samples are far from the draws and 71 % from the means).
- **Reading a distance**: near a point, the nearest of n codes lies at about (n·density)^(−1/d),
  so at d = 16 a sample 1.8 units out sits where the codes are about 1.8¹⁶ ≈ 12,000 times
  sparser than around a typical code; at d = 2, 1.8 units means about 3 times sparser.
- **Coverage over a plane** (the d = 2 atlas): the same for the points of a grid:
  ``coverage(codes, compare.plane_grid(low, high, n), spacing).distance.reshape(n, n)``.
- **MMD**: the unbiased MMD² between the codes and the samples with a Gaussian kernel whose
  bandwidth is the median distance between points of the pooled sample (Gretton et al., "A
  Kernel Two-Sample Test", JMLR 2012; the median heuristic of their experiments): one number for
  how far the sampling distribution is from where the codes are, about 0 when they agree.

Nearest-neighbour distances are exact (a tree search); the MMD's kernel sums run in chunks. For
8,500 codes and 1,000 samples everything takes about a second on one core at d = 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer import metrics

FAR_QUANTILE = 0.99  # far: beyond this quantile of the codes' own nearest-neighbour distances
CHUNK = 512  # rows of a kernel matrix held at once (17 MB against 8,500 codes)
BANDWIDTH_POINTS = 2000  # pooled points whose pairwise distances set the median bandwidth


def _as_points(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    """float64 (n, d) from numpy or torch; one clear error for anything else."""
    t = torch.as_tensor(np.asarray(x.detach().cpu() if hasattr(x, "detach") else x))
    t = t.to(torch.float64)
    if t.ndim != 2 or len(t) == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array of points, got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    return t


def nearest_distances(
    queries: torch.Tensor, points: torch.Tensor, leave_one_out: bool = False
) -> np.ndarray:
    """Each query's Euclidean distance to its nearest point (m,), exact (scikit-learn's tree
    search: 8,500 codes take milliseconds at d = 2 and a quarter second at d = 16, where a full
    distance matrix takes seconds). With ``leave_one_out`` the queries are the points themselves
    and each skips itself (a duplicate of it still counts, at distance 0)."""
    if leave_one_out and len(points) < 2:
        raise ValueError("a leave-one-out distance needs at least 2 points")
    from sklearn.neighbors import NearestNeighbors  # seconds to import: only when computing

    index = NearestNeighbors(n_neighbors=2 if leave_one_out else 1).fit(points.numpy())
    distances = index.kneighbors(queries.numpy())[0]
    return distances[:, -1]


@dataclass(frozen=True)
class Spacing:
    """How far apart encoded codes are: each code's distance to its nearest other code."""

    nearest: np.ndarray  # (n,)
    quantile: float = FAR_QUANTILE

    @property
    def unit(self) -> float:
        """The median nearest-neighbour distance: the unit of every coverage distance."""
        return float(np.median(self.nearest))

    @property
    def far_radius(self) -> float:
        """Beyond this many units a point is far from every code (the ``quantile`` of the
        codes' own nearest-neighbour distances, in units)."""
        return float(np.quantile(self.nearest, self.quantile)) / self.unit


def code_spacing(codes: np.ndarray | torch.Tensor, quantile: float = FAR_QUANTILE) -> Spacing:
    """The leave-one-out nearest-neighbour distances of codes (n, d), n ≥ 2."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    points = _as_points(codes, "codes")
    nearest = nearest_distances(points, points, leave_one_out=True)
    if np.median(nearest) == 0.0:
        raise ValueError("most codes coincide: their spacing is 0, so no unit to measure in")
    return Spacing(nearest, quantile)


@dataclass(frozen=True)
class Coverage:
    """How near each sample lands to the encoded codes."""

    distance: np.ndarray  # (m,) to the nearest code, in spacing units
    far: np.ndarray  # (m,) bool: beyond ``spacing.far_radius``
    spacing: Spacing

    def far_share(self) -> float:
        """The share of samples far from every code (about 1 − quantile when covered)."""
        return float(self.far.mean())

    def median_distance(self) -> float:
        """The median sample's distance to its nearest code, in spacing units (about 1 when
        the samples fall among the codes like another code would)."""
        return float(np.median(self.distance))


def coverage(
    codes: np.ndarray | torch.Tensor,
    samples: np.ndarray | torch.Tensor,
    spacing: Spacing | None = None,
) -> Coverage:
    """Each sample's (m, d) nearest-code distance among ``codes`` (n, d), in units of the codes'
    spacing, and whether it is far. Pass ``spacing`` (:func:`code_spacing` of the same codes)
    to reuse it across sample sets or a plane's grid."""
    points = _as_points(codes, "codes")
    queries = _as_points(samples, "samples")
    if queries.shape[1] != points.shape[1]:
        raise ValueError(f"samples have d = {queries.shape[1]}, codes d = {points.shape[1]}")
    spacing = code_spacing(points) if spacing is None else spacing
    distance = nearest_distances(queries, points) / spacing.unit
    return Coverage(distance, distance > spacing.far_radius, spacing)


@dataclass(frozen=True)
class GaussianMMD:
    """The unbiased MMD² between two point sets under a Gaussian kernel, and its bandwidth."""

    value: float
    bandwidth: float


def median_bandwidth(
    x: torch.Tensor, y: torch.Tensor, points: int = BANDWIDTH_POINTS, seed: int = 0
) -> float:
    """The median distance between distinct points of the pooled sample (Gretton et al. 2012's
    choice), over a seeded subset of ``points`` of them: the median of a million distances
    hardly moves."""
    pooled = torch.cat([x, y])
    generator = torch.Generator().manual_seed(seed)
    pooled = pooled[torch.randperm(len(pooled), generator=generator)[:points]]
    d = torch.cdist(pooled, pooled)
    upper = torch.triu_indices(len(pooled), len(pooled), offset=1)
    return float(d[upper[0], upper[1]].median())


def _gaussian_sum(a: torch.Tensor, b: torch.Tensor, bandwidth: float) -> float:
    """Σ exp(−‖ai − bj‖² / 2σ²) over all pairs (i, j), in row chunks: the kernel in float32, its
    sum in float64 (off by about 1e-9 of the MMD², far below its sampling error)."""
    a32, b32 = a.float(), b.float()
    a2, b2 = (a32**2).sum(1), (b32**2).sum(1)
    total = 0.0
    for start in range(0, len(a32), CHUNK):
        rows = slice(start, start + CHUNK)
        squared = (a2[rows, None] + b2[None, :] - 2 * a32[rows] @ b32.T).clamp_min_(0.0)
        total += float(torch.exp_(squared.mul_(-0.5 / bandwidth**2)).sum(dtype=torch.float64))
    return total


def _gaussian_self_sum(x: torch.Tensor, bandwidth: float) -> float:
    """Σ over i ≠ j of exp(−‖xi − xj‖² / 2σ²): each row chunk against itself and the rows after
    it, the latter twice (the kernel is symmetric), less the diagonal's k(x, x) = 1."""
    total = 0.0
    for start in range(0, len(x), CHUNK):
        block = x[start : start + CHUNK]
        total += _gaussian_sum(block, block, bandwidth)
        if start + CHUNK < len(x):
            total += 2 * _gaussian_sum(block, x[start + CHUNK :], bandwidth)
    return total - len(x)


def gaussian_mmd2(
    codes: np.ndarray | torch.Tensor,
    samples: np.ndarray | torch.Tensor,
    bandwidth: float | None = None,
    seed: int = 0,
) -> GaussianMMD:
    """The unbiased MMD² (:func:`explorer.metrics.unbiased_mmd2`) between codes (n, d) and
    samples (m, d) with k(x, y) = exp(−‖x − y‖² / 2σ²), σ the pooled median distance unless
    given (give the same σ to compare several sample sets against one set of codes)."""
    x, y = _as_points(codes, "codes"), _as_points(samples, "samples")
    if bandwidth is None:
        bandwidth = median_bandwidth(x, y, seed=seed)
    if not bandwidth > 0.0:
        raise ValueError(f"the kernel bandwidth must be positive, got {bandwidth}")
    value = metrics.unbiased_mmd2(
        _gaussian_self_sum(x, bandwidth),
        _gaussian_self_sum(y, bandwidth),
        _gaussian_sum(x, y, bandwidth),
        len(x),
        len(y),
    )
    return GaussianMMD(value, bandwidth)
