"""Measures of latent smoothness and sample quality.

- Smoothness along a path: the pixel change between consecutive decoded frames. A smooth latent
  space changes the image a little at every step; a jump means the path crossed a gap.
- Classifier confidence: the digit classifier's top softmax probability per frame; frames between
  two digits that no class claims are the "holes" of an AE's latent space.
- Fréchet distance between Gaussians fitted to classifier features (Heusel et al., "GANs Trained
  by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017, the FID,
  here on our digit classifier's penultimate layer instead of Inception's).
- Kernel Inception Distance (Bińkowski et al., "Demystifying MMD GANs", ICLR 2018): the unbiased
  MMD² with a cubic polynomial kernel on the same features, averaged over subsets, and the
  unbiased MMD² itself (Gretton et al., JMLR 2012) for other kernels (explorer.coverage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import smoothness


def frame_changes(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(max, mean) absolute pixel change between consecutive frames (n, 1, 28, 28): each (n−1,)."""
    diff = (frames[1:] - frames[:-1]).abs().flatten(1)
    return diff.max(1).values, diff.mean(1)


@torch.no_grad()
def classifier_confidence(
    classifier: nn.Module, images: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted digit, top softmax probability) for each image: each (n,)."""
    probs = torch.softmax(classifier(images), dim=1)
    confidence, label = probs.max(1)
    return label, confidence


@torch.no_grad()
def classifier_features(
    classifier: nn.Module, images: torch.Tensor, batch: int = 500
) -> np.ndarray:
    """Penultimate-layer features (n, width) as float64 numpy."""
    parts = [classifier.features(images[i : i + batch]) for i in range(0, len(images), batch)]
    return torch.cat(parts).double().numpy()


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^½) between Gaussians fitted to two feature sets.

    Tr((ΣaΣb)^½) is the sum of the square roots of the eigenvalues of Σa^½ Σb Σa^½, which is
    symmetric and positive semi-definite: two symmetric eigen-decompositions instead of a general
    matrix square root (about 50 times faster at 128 features, so bootstrap intervals are
    affordable), and singular covariances from dead ReLU units need no special case.
    """
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a = np.atleast_2d(np.cov(features_a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(features_b, rowvar=False))
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = float(np.sqrt(np.clip(inner, 0.0, None)).sum())
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
    return max(value, 0.0)


@torch.no_grad()
def decoded_accuracy(
    classifier: nn.Module, autoencoder: nn.Module, images: torch.Tensor, labels: torch.Tensor
) -> float:
    """The classifier's accuracy on an AE's or VAE's reconstructions (decoded posterior means)
    of labelled digits: how well it reads decoded images, which are blurrier than real ones.
    The app uses the classifier as the reader of decoded digits (confidence along a path, the
    atlas's low-confidence regions, "read as a digit"), so a classifier is also chosen on this,
    over the validation digits, not only on its accuracy on the digits themselves."""
    decoded = autoencoder.decode(autoencoder.encode(images))
    return (classifier(decoded).argmax(1) == labels).float().mean().item()


# Kernel distances (appended): the unbiased MMD² and KID.


def unbiased_mmd2(xx_sum: float, yy_sum: float, xy_sum: float, n: int, m: int) -> float:
    """The unbiased MMD² between n x's and m y's from kernel sums (Gretton, Borgwardt, Rasch,
    Schölkopf & Smola, "A Kernel Two-Sample Test", JMLR 2012, MMD²_u):
    Σ_{i≠j} k(xi, xj) / n(n−1) + Σ_{i≠j} k(yi, yj) / m(m−1) − 2 Σ_{i,j} k(xi, yj) / nm.
    ``xx_sum`` and ``yy_sum`` leave out the diagonal. About 0 for one distribution, so it can be
    slightly negative."""
    if n < 2 or m < 2:
        raise ValueError(f"the unbiased MMD² needs at least 2 points a side, got {n} and {m}")
    return xx_sum / (n * (n - 1)) + yy_sum / (m * (m - 1)) - 2 * xy_sum / (n * m)


def polynomial_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """KID's kernel k(x, y) = (xᵀy / d + 1)³ between the rows of a (n, d) and b (m, d): (n, m)
    (Bińkowski et al. 2018: it needs no bandwidth and compares moments up to the third)."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_variance(kxx: torch.Tensor, kyy: torch.Tensor, kxy: torch.Tensor) -> float:
    """Estimated variance of the unbiased MMD² of two equal-sized sets from their kernel
    matrices (m, m): the U-statistic's 4(m−2)/m(m−1)·ζ1 + 2/m(m−1)·ζ2 (Hoeffding 1948; Serfling,
    "Approximation Theorems of Mathematical Statistics", 1980, ch. 5), with ζ1 and ζ2 estimated
    from h(i, j) = k(xi, xj) + k(yi, yj) − k(xi, yj) − k(xj, yi), pairing xi with yi, as Sutherland
    et al. ("Generative Models and Model Criticism via Optimized MMD", ICLR 2017) do."""
    m = kxx.shape[0]
    if m < 4:
        raise ValueError(f"the MMD² variance needs at least 4 points a side, got {m}")
    h = (kxx + kyy - kxy - kxy.T).double()
    h.fill_diagonal_(0.0)
    pairs = h.sum() / (m * (m - 1))
    zeta1 = ((h.sum(1) / (m - 1) - pairs) ** 2).sum() / (m - 1)  # variance of E[h(i, ·)]
    zeta2 = (h**2).sum() / (m * (m - 1)) - pairs**2  # variance of h(i, j)
    return max(float(4 * (m - 2) / (m * (m - 1)) * zeta1 + 2 / (m * (m - 1)) * zeta2), 0.0)


@dataclass(frozen=True)
class KernelDistance:
    """KID: the mean of the unbiased MMD² over subsets, with its uncertainty."""

    value: float
    standard_error: float  # √(mean per-subset variance): an upper bound for the mean's
    spread: float  # sd of the subsets' estimates (what Bińkowski et al. tabulate)
    subsets: int
    subset_size: int

    def estimate(self, level: float = 0.95) -> smoothness.Estimate:
        """value ± z·standard_error as a :class:`~explorer.smoothness.Estimate` (a normal
        interval: the MMD²'s distribution is close to normal away from 0)."""
        z = float(torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor(0.5 + level / 2)))
        half = z * self.standard_error
        return smoothness.Estimate(
            self.value, self.value - half, self.value + half, self.subset_size
        )

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def kernel_inception_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> KernelDistance:
    """KID (Bińkowski, Sutherland, Arbel & Gretton, "Demystifying MMD GANs", ICLR 2018) on
    two feature sets (n, d), (m, d), here our reader's features as for :func:`frechet_distance`:
    the unbiased MMD² with :func:`polynomial_kernel`, averaged over ``subsets`` seeded draws of
    ``subset_size`` rows of each set without replacement (their defaults: 100 of 1,000), or of
    min(n, m) rows when a set is smaller (one draw when both are that size: every draw would be
    the same). Unlike the Fréchet distance it is unbiased, so small n does not inflate it, and an
    average of normal-ish estimates gives a symmetric interval.

    The two sets must be independent samples: a set against itself holds each k(x, x) in the
    x–y sum and gives (2/n)(mean k(x, x') − mean k(x, x)), a little below 0.

    The standard error is √(mean per-subset :func:`mmd2_variance`): the mean of correlated
    estimates varies at most as much as one does, so the interval is conservative, never
    narrower than the data allow (the subsets' own spread is not an error bar: with subsets as
    large as the data they barely vary).
    """
    a = torch.as_tensor(np.asarray(features_a), dtype=torch.float64)
    b = torch.as_tensor(np.asarray(features_b), dtype=torch.float64)
    size = min(subset_size, len(a), len(b))
    draws = 1 if len(a) == len(b) == size else subsets
    generator = torch.Generator().manual_seed(seed)
    values, variances = [], []
    for _ in range(draws):
        x = a[torch.randperm(len(a), generator=generator)[:size]]
        y = b[torch.randperm(len(b), generator=generator)[:size]]
        kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        xx_sum = float(kxx.sum() - kxx.diagonal().sum())
        yy_sum = float(kyy.sum() - kyy.diagonal().sum())
        values.append(unbiased_mmd2(xx_sum, yy_sum, float(kxy.sum()), size, size))
        variances.append(mmd2_variance(kxx, kyy, kxy))
    return KernelDistance(
        float(np.mean(values)),
        float(np.sqrt(np.mean(variances))),
        float(np.std(values, ddof=1)) if draws > 1 else 0.0,
        draws,
        size,
    )
