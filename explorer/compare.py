"""AE vs VAE: what the comparison page and ``bench.smoothness`` compute (no Streamlit).

A pair is an AE and a VAE with the same encoder, decoder, data, batch, epochs and seed, so they
differ only in the objective: ``ae2d``/``vae2d`` (d = 2) and ``ae``/``vae`` (d = 16). Everything
here runs both models on the same inputs (the same held-out pairs, the same N(0, I) codes, the
same window of the latent plane) so their numbers can be set side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import views
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


@torch.inference_mode()
def decode_all(model: LatentModel, codes: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Decode in chunks, so many codes never hold every activation at once."""
    return torch.cat(
        [views.decode(model, codes[i : i + batch]) for i in range(0, len(codes), batch)]
    )


@dataclass(frozen=True)
class Preset:
    """A pair picked from the measured pairs by a stated rule."""

    key: str
    title: str
    index: int  # row in the pair list
    rule: str
    share: float  # share of pairs that look like it


def presets(gap: np.ndarray, margin: float = 0.1) -> dict[str, Preset]:
    """Pairs picked by a stated rule from ``gap``, each pair's VAE − AE lowest confidence
    between a and b (one reader), and how common what each shows is.

    "A hole in the AE": the largest gap; its share is the fraction of pairs where the AE's
    lowest confidence is at least ``margin`` below the VAE's. "Where the AE wins": the smallest
    gap, the mirror image. "A typical pair": the pair at the median gap, so that the extremes
    are seen beside what most pairs look like; its share is the fraction within ``margin``.
    """
    order = np.argsort(gap, kind="stable")
    vae_side, ae_side = float(np.mean(gap >= margin)), float(np.mean(-gap >= margin))
    return {
        "hole": Preset(
            "hole",
            "A hole in the AE",
            int(order[-1]),
            "the pair whose lowest confidence between a and b is furthest below the VAE's",
            vae_side,
        ),
        "typical": Preset(
            "typical",
            "A typical pair",
            int(order[len(order) // 2]),
            "the pair at the median of the VAE − AE difference in lowest confidence",
            float(np.mean(np.abs(gap) < margin)),
        ),
        "ae_wins": Preset(
            "ae_wins",
            "Where the AE wins",
            int(order[0]),
            "the pair whose lowest confidence between a and b is furthest above the VAE's",
            ae_side,
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


def point_from_selection(selection: dict | None) -> tuple[float, float] | None:
    """The (x, y) of the last clicked point in a plotly selection event, or None."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for point in reversed(points):
        x, y = point.get("x"), point.get("y")
        if isinstance(x, int | float) and isinstance(y, int | float):
            return float(x), float(y)
    return None
