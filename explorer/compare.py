"""AE vs VAE: what the comparison page and ``bench.smoothness`` compute (no Streamlit).

A pair is an AE and a VAE with the same encoder, decoder, data, batch, epochs and seed, so they
differ only in the objective: ``ae2d``/``vae2d`` (d = 2) and ``ae``/``vae`` (d = 16). Everything
here runs both models on the same inputs (the same held-out pairs, the same N(0, I) codes, the
same window of the latent plane) so their numbers can be set side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import images, latent, smoothness, views
from explorer.models import LatentModel

PAIRS = {"2d": ("ae2d", "vae2d"), "16d": ("ae", "vae")}
PRIOR_BOX = 3.0  # the prior's ±3σ box, always inside the atlas window
PATH_FRAMES = 11


@torch.inference_mode()
def probabilities(classifier: nn.Module, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The classifier's class probabilities (n, 10) for images (n, 1, 28, 28)."""
    parts = [
        torch.softmax(classifier(images[i : i + batch]), 1) for i in range(0, len(images), batch)
    ]
    return torch.cat(parts)


def prior_codes(n: int, d: int, seed: int) -> torch.Tensor:
    """n codes from N(0, I): the same for every model of latent size d."""
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def fitted_codes(model: LatentModel, n: int, seed: int) -> torch.Tensor:
    """n codes from the model's own sampler (for the AE: a Gaussian fitted to its codes), drawn
    from the same ε as :func:`prior_codes`."""
    return model.sample(n, torch.Generator().manual_seed(seed))


@dataclass(frozen=True)
class SampleReport:
    """How a classifier reads images decoded from codes: per sample, confident or not, entropy."""

    images: torch.Tensor  # (n, 1, 28, 28)
    confident: np.ndarray  # (n,) 1.0 where the top probability ≥ 0.9
    entropy: np.ndarray  # (n,) nats
    labels: np.ndarray  # (n,) the classifier's digit

    def share(self) -> smoothness.Estimate:
        return smoothness.bootstrap(self.confident)

    def mean_entropy(self) -> smoothness.Estimate:
        return smoothness.bootstrap(self.entropy)

    def diversity(self) -> smoothness.Estimate:
        return smoothness.bootstrap(self.labels, smoothness.digit_diversity, n_boot=1000)

    def digit_shares(self) -> np.ndarray:
        """Share of samples read as each digit (10,)."""
        return np.bincount(self.labels, minlength=10) / len(self.labels)


def sample_report(model: LatentModel, classifier: nn.Module, codes: torch.Tensor) -> SampleReport:
    images = decode_all(model, codes)
    probs = probabilities(classifier, images)
    return SampleReport(
        images,
        smoothness.confident(probs),
        smoothness.entropy(probs),
        probs.argmax(1).numpy(),
    )


@torch.inference_mode()
def decode_all(model: LatentModel, codes: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Decode in chunks, so many codes never hold every activation at once."""
    return torch.cat(
        [views.decode(model, codes[i : i + batch]) for i in range(0, len(codes), batch)]
    )


@dataclass(frozen=True)
class PairStudy:
    """One model's interpolation paths between the same held-out pairs (plain arrays, so a
    study can be kept on disk with :func:`explorer.data.cached_arrays`)."""

    pairs: np.ndarray  # (n, 2) rows of the held-out set: a, b
    codes: np.ndarray  # (n, frames, d) the path's codes, a (λ = 1) first
    frame_labels: np.ndarray  # (n, frames) the classifier's digit per frame
    frame_confidence: np.ndarray  # (n, frames) its top probability
    largest_jump: np.ndarray  # (n,) mean |Δ pixel| of the largest step

    @property
    def measures(self) -> smoothness.PathMeasures:
        return smoothness.confidence_measures(
            self.frame_confidence, smoothness.CONFIDENT, self.largest_jump
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def pair_study(
    model: LatentModel,
    classifier: nn.Module,
    codes: torch.Tensor,
    pairs: np.ndarray,
    frames: int = PATH_FRAMES,
    mode: str = "linear",
) -> PairStudy:
    """Decode the path between each pair's codes and measure it (see explorer.smoothness)."""
    lam = latent.lambdas(frames).reshape(1, frames, 1)
    a, b = codes[pairs[:, 0]].unsqueeze(1), codes[pairs[:, 1]].unsqueeze(1)
    path = latent.interpolate(a, b, lam, mode)  # (n, frames, d)
    images = decode_all(model, path.reshape(-1, path.shape[-1]))
    probs = probabilities(classifier, images)
    n = len(pairs)
    measures = smoothness.path_measures(
        images.reshape(n, frames, 1, 28, 28), probs.reshape(n, frames, 10)
    )
    top = probs.max(1)
    return PairStudy(
        np.asarray(pairs),
        path.numpy(),
        top.indices.reshape(n, frames).numpy(),
        top.values.reshape(n, frames).double().numpy(),
        measures.largest_jump,
    )


@dataclass(frozen=True)
class Preset:
    """A pair picked from the measured pairs by a stated rule."""

    key: str
    title: str
    index: int  # row in the pair list
    rule: str
    share: float  # share of pairs that look like it


def presets(ae: PairStudy, vae: PairStudy, margin: float = 0.1) -> dict[str, Preset]:
    """The pair with the largest gap in lowest confidence each way, and how common such gaps are.

    "A hole in the AE": the largest VAE − AE difference of the lowest confidence between a and b;
    its share is the fraction of pairs where the AE's lowest confidence is at least ``margin``
    below the VAE's. "Where the AE wins" is the mirror image.
    """
    gap = vae.measures.lowest_confidence - ae.measures.lowest_confidence
    hole, win = int(np.argmax(gap)), int(np.argmin(gap))
    return {
        "hole": Preset(
            "hole",
            "A hole in the AE",
            hole,
            "the pair whose lowest confidence between a and b is furthest below the VAE's",
            float(np.mean(gap >= margin)),
        ),
        "ae_wins": Preset(
            "ae_wins",
            "Where the AE wins",
            win,
            "the pair whose lowest confidence between a and b is furthest above the VAE's",
            float(np.mean(-gap >= margin)),
        ),
    }


def atlas_window(*code_sets: np.ndarray, prior_box: float = PRIOR_BOX) -> tuple[float, float]:
    """A square window (low, high) on both axes that holds every code of every set and the
    prior's ±``prior_box`` box, with a 5 % margin: one scale for both models."""
    extent = max([prior_box] + [float(np.abs(c).max()) for c in code_sets if len(c)])
    extent *= 1.05
    return -extent, extent


ATLAS_WINDOWS = {
    "codes": "Both models' codes, one scale",
    "own": "Each model's own codes",
    "prior": "The prior's ±3σ box",
}


def atlas_windows(codes: dict[str, np.ndarray], choice: str) -> dict[str, tuple[float, float]]:
    """Each model's atlas window for an :data:`ATLAS_WINDOWS` choice: one window holding every
    model's codes (``codes``: the same scale, so sizes compare), a window per model holding
    its own codes (``own``: an AE's codes can spread ten times wider than a VAE's, which then
    fill a small patch of the shared window), or the prior's box (``prior``)."""
    if choice == "prior":
        return {name: (-PRIOR_BOX, PRIOR_BOX) for name in codes}
    if choice == "own":
        return {name: atlas_window(c) for name, c in codes.items()}
    if choice == "codes":
        shared = atlas_window(*codes.values())
        return {name: shared for name in codes}
    raise ValueError(f"unknown atlas window {choice!r}; choose one of {list(ATLAS_WINDOWS)}")


def plane_grid(low: float, high: float, n: int) -> torch.Tensor:
    """n×n points (n·n, 2) covering [low, high]², row-major with the top row first: z0 grows
    to the right along a row and z1 falls down the rows, as on a plot."""
    values = torch.linspace(low, high, n)
    y, x = torch.meshgrid(values.flip(0), values, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


@dataclass(frozen=True)
class Atlas:
    """A model's latent plane over a square window: decoded tiles (uint8) and the classifier's
    confidence, both row-major with the top row first (plain arrays, like PairStudy)."""

    window: np.ndarray  # (2,) low, high on both axes
    tiles: np.ndarray  # (n·n, 28, 28) uint8
    confidence: np.ndarray  # (m, m)
    labels: np.ndarray  # (m, m) the classifier's digit

    @property
    def n_tiles(self) -> int:
        return math.isqrt(len(self.tiles))

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def atlas(
    model: LatentModel,
    classifier: nn.Module,
    window: tuple[float, float],
    n_tiles: int = 15,
    n_heat: int = 31,
) -> Atlas:
    """Decode a regular grid of the 2-D plane for the background, and a finer grid for the
    classifier's confidence heat-map."""
    low, high = window
    tiles = decode_all(model, plane_grid(low, high, n_tiles))[:, 0]
    heat = decode_all(model, plane_grid(low, high, n_heat))
    top = probabilities(classifier, heat).max(1)
    return Atlas(
        np.array([low, high]),
        images.to_uint8(tiles),
        top.values.reshape(n_heat, n_heat).double().numpy(),
        top.indices.reshape(n_heat, n_heat).numpy(),
    )


def point_from_selection(selection: dict | None) -> tuple[float, float] | None:
    """The (x, y) of the last clicked point in a plotly selection event, or None."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for point in reversed(points):
        x, y = point.get("x"), point.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float):
            return float(x), float(y)
    return None
