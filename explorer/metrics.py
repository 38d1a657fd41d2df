"""Measures of latent smoothness and sample quality.

- Smoothness along a path: the pixel change between consecutive decoded frames. A smooth latent
  space changes the image a little at every step; a jump means the path crossed a gap.
- Classifier confidence: the digit classifier's top softmax probability per frame; frames between
  two digits that no class claims are the "holes" of an AE's latent space.
- Fréchet distance between Gaussians fitted to classifier features (Heusel et al., "GANs Trained
  by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017, the FID,
  here on our digit classifier's penultimate layer instead of Inception's).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


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
