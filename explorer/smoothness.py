"""How smooth a latent space is, measured over many cases, each figure with a bootstrap interval.

- Perceptual path length (Karras, Laine & Aila, "A Style-Based Generator Architecture for GANs",
  CVPR 2019, §4.2): the squared feature distance between the images at t and t + ε on a path,
  divided by ε². Karras et al. use VGG features (LPIPS); we use our digit classifier's
  penultimate features. Large values mean a small step in the code changes the image a lot.
  They report the mean after discarding samples outside the 1st-99th percentile: the robust
  mean here.
- Along an interpolation path between two held-out digits: the lowest classifier confidence and
  the share of frames read as some digit with confidence ≥ 0.9, both over the frames strictly
  between the endpoints (the endpoints are reconstructions, whose quality is another question),
  and the largest jump (mean absolute pixel change between consecutive frames). A path through
  a hole has a low minimum, a small share and a large jump.
- Samples decoded from N(0, I): the share read with confidence ≥ 0.9 and the mean entropy of the
  classifier's distribution (nats). A filled prior gives a high share and a low entropy. Which
  digits come out matters too: the entropy of the histogram of digits read (ln 10 ≈ 2.30 nats
  when all ten come out equally often) is low when samples collapse onto a few digits.
- Intervals: the percentile bootstrap (Efron & Tibshirani, "An Introduction to the Bootstrap",
  1993, ch. 13), 95 % by default; paired differences are bootstrapped per pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from explorer import latent

CONFIDENT = 0.9  # a frame or sample "reads as a digit" at this top softmax probability
EPSILON = 1e-4  # Karras et al.'s step for the path length


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap interval."""

    value: float
    low: float
    high: float
    n: int

    def excludes(self, point: float) -> bool:
        """True when ``point`` lies outside the interval (a difference that excludes 0)."""
        return point < self.low or point > self.high

    def separated_from(self, other: Estimate) -> bool:
        """True when the two intervals do not overlap."""
        return self.high < other.low or other.high < self.low

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}

    def text(self, digits: int = 2, percent: bool = False) -> str:
        """'0.62 [0.58, 0.66]' (or '62 % [58, 66]')."""
        if percent:
            return f"{100 * self.value:.0f} % [{100 * self.low:.0f}, {100 * self.high:.0f}]"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """``statistic(values)`` and its percentile-bootstrap interval; rows of ``values`` are
    resampled with replacement."""
    values = np.asarray(values)
    if len(values) == 0:
        raise ValueError("bootstrap needs at least one value")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(values), size=(n_boot, len(values)))
    if statistic is np.mean and values.ndim == 1 and values.dtype.kind == "f":
        # Every resample's mean in one call per chunk (at most 2M values, 16 MB): the same
        # numbers as one np.mean per resample in half the time (a page shows up to nine).
        step = max(1, 2_000_000 // len(values))
        stats = np.concatenate(
            [values[draws[i : i + step]].mean(1) for i in range(0, n_boot, step)]
        )
    else:
        stats = np.array([statistic(values[rows]) for rows in draws], dtype=float)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(stats, [tail, 100 - tail])
    return Estimate(float(statistic(values)), float(low), float(high), len(values))


def robust_mean(values: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> float:
    """Mean of the values between two percentiles (Karras et al.'s filtered path length)."""
    values = np.asarray(values, dtype=float)
    low, high = np.percentile(values, [low_pct, high_pct])
    return float(values[(values >= low) & (values <= high)].mean())


def path_lengths(
    decode: Callable[[torch.Tensor], torch.Tensor],
    featurize: Callable[[torch.Tensor], torch.Tensor],
    a: torch.Tensor,
    b: torch.Tensor,
    mode: str = "linear",
    eps: float = EPSILON,
    generator: torch.Generator | None = None,
    batch: int = 100,
) -> np.ndarray:
    """One path-length sample per pair of codes (n, d): ‖f(g(w(t))) − f(g(w(t + ε)))‖² / ε²,
    t ~ U(0, 1 − ε), w the lerp (or slerp) from b (t = 0) to a (t = 1)."""
    t = torch.rand(len(a), 1, generator=generator, dtype=a.dtype) * (1 - eps)
    here = latent.interpolate(a, b, t, mode)
    there = latent.interpolate(a, b, t + eps, mode)
    lengths = []
    with torch.inference_mode():
        for i in range(0, len(a), batch):  # chunks bound the activations' memory
            features = featurize(decode(torch.cat([here[i : i + batch], there[i : i + batch]])))
            f_here, f_there = features.chunk(2)
            lengths.append(((f_there - f_here) ** 2).sum(1) / eps**2)
    return torch.cat(lengths).double().numpy()


@dataclass(frozen=True)
class PathMeasures:
    """Per-pair measures of interpolation paths: each (pairs,)."""

    lowest_confidence: np.ndarray
    confident_share: np.ndarray
    largest_jump: np.ndarray

    NAMES = ("lowest_confidence", "confident_share", "largest_jump")

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.NAMES}


def path_measures(
    frames: torch.Tensor, probs: torch.Tensor, threshold: float = CONFIDENT
) -> PathMeasures:
    """Measures of paths from their frames (pairs, steps, 1, 28, 28) and the classifier's
    probabilities for each frame (pairs, steps, 10); steps ≥ 3."""
    jumps = (frames[:, 1:] - frames[:, :-1]).abs().flatten(2).mean(-1)
    return confidence_measures(
        probs.max(-1).values.double().numpy(), threshold, jumps.max(1).values.double().numpy()
    )


def confidence_measures(
    confidence: np.ndarray, threshold: float, largest_jump: np.ndarray
) -> PathMeasures:
    """Lowest confidence and confident share over the interior frames of (pairs, steps)."""
    if confidence.shape[1] < 3:
        raise ValueError("a path needs at least 3 frames to have frames between its endpoints")
    inside = confidence[:, 1:-1]
    return PathMeasures(inside.min(1), (inside >= threshold).mean(1), largest_jump)


def confident(probs: torch.Tensor, threshold: float = CONFIDENT) -> np.ndarray:
    """1.0 where the top class probability reaches ``threshold``, else 0.0: (n,)."""
    return (probs.max(-1).values >= threshold).double().numpy()


def entropy(probs: torch.Tensor) -> np.ndarray:
    """Entropy of each row's class distribution, in nats: (n,)."""
    p = probs.double()
    return -(p * torch.log(p.clamp_min(1e-30))).sum(-1).numpy()


def digit_diversity(labels: np.ndarray) -> float:
    """Entropy (nats) of the histogram of digits read from a set of samples: ln 10 for all ten
    equally often, 0 for one digit only."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=10).astype(float)
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * np.log(shares)).sum())


def random_pairs(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n seeded pairs of rows (n, 2) whose digits differ: the interpolations a class would try.
    Drawn uniformly among such pairs, without repeating a pair."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    limit = len(labels) ** 2  # every ordered pair, a row with itself too
    while len(pairs) < n and len(seen) < limit:
        a, b = (int(v) for v in rng.integers(0, len(labels), 2))
        if labels[a] == labels[b] or (a, b) in seen:
            seen.add((a, b))
            continue
        seen.add((a, b))
        pairs.append((a, b))
    if len(pairs) < n:
        raise ValueError(f"only {len(pairs)} pairs of different digits exist, {n} asked for")
    return np.array(pairs, dtype=np.int64)


# How a reader's "hole" splits (appended): a blend of two digits, or garbage.

READINGS = ("confident", "blend", "garbage")


def readings(probs: torch.Tensor, threshold: float = CONFIDENT) -> np.ndarray:
    """What the classifier makes of each image (n,) str, from its probabilities (n, classes):
    ``"confident"`` when the top class reaches ``threshold``; else ``"blend"`` when the top two
    together reach it (an image between two digits, as on the line between two regions of a
    VAE's plane); else ``"garbage"`` (no digit or pair of digits claims it). Compared in the
    probabilities' own dtype, as :func:`confident` does, and the pair's sum with 1e-9 of slack:
    0.6 + 0.3 is 0.8999999999999999 in float64."""
    top2 = probs.topk(2, dim=-1).values
    blend = np.where((top2.sum(-1) >= threshold - 1e-9).numpy(), "blend", "garbage")
    return np.where((top2[:, 0] >= threshold).numpy(), "confident", blend)


def reading_shares(probs: torch.Tensor, threshold: float = CONFIDENT) -> dict[str, float]:
    """The share of images in each of :data:`READINGS`: they add up to 1."""
    found = readings(probs, threshold)
    return {name: float(np.mean(found == name)) for name in READINGS}
