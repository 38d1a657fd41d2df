"""Operations on latent codes: interpolation, traversals, grids, slider ranges, directions.

Convention throughout (as on the Interpolation page): w* = λa + (1−λ)b, so λ = 1 gives a and
λ = 0 gives b; a strip of frames runs from a (λ = 1) to b (λ = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from explorer.models import AutoEncoder, LatentModel

VAE_RANGE = 3.0  # ±3 prior standard deviations
SLIDER_STEP = 0.01
MODES = ("linear", "spherical")


def lerp(a: torch.Tensor, b: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """w* = λa + (1−λ)b."""
    return lam * a + (1.0 - lam) * b


def slerp(a: torch.Tensor, b: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation, same λ convention as :func:`lerp`.

    sin(λΩ)/sin Ω · a + sin((1−λ)Ω)/sin Ω · b, Ω the angle between a and b (Shoemake, SIGGRAPH
    1985; suggested for Gaussian latents by White, "Sampling Generative Networks", 2016).
    Falls back to lerp when a and b are (anti)parallel or zero.
    """
    lam = torch.as_tensor(lam, dtype=a.dtype)
    norm_a, norm_b = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    cos = ((a * b).sum(-1, keepdim=True) / (norm_a * norm_b).clamp_min(1e-12)).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    if float(sin.abs().min()) < 1e-6:
        return lerp(a, b, lam)
    return (torch.sin(lam * omega) * a + torch.sin((1.0 - lam) * omega) * b) / sin


def interpolate(a: torch.Tensor, b: torch.Tensor, lam: float, mode: str = "linear") -> torch.Tensor:
    """One point w* between a and b, linear or spherical."""
    if mode not in MODES:
        raise ValueError(f"unknown interpolation mode {mode!r}; choose linear or spherical")
    return (lerp if mode == "linear" else slerp)(a, b, lam)


def lambdas(n: int) -> torch.Tensor:
    """λ for n frames from a (λ = 1) to b (λ = 0)."""
    if n < 2:
        raise ValueError(f"a path needs at least 2 frames, got {n}")
    return torch.linspace(1.0, 0.0, n)


def path(a: torch.Tensor, b: torch.Tensor, n: int, mode: str = "linear") -> torch.Tensor:
    """n codes (n, d) from a to b, linear or spherical."""
    return interpolate(a.reshape(1, -1), b.reshape(1, -1), lambdas(n).unsqueeze(1), mode)


def traversal(z: torch.Tensor, dim: int, values: torch.Tensor) -> torch.Tensor:
    """Copies of code z (d,) with coordinate ``dim`` set to each value: (K, d)."""
    codes = z.reshape(1, -1).repeat(len(values), 1)
    codes[:, dim] = values
    return codes


def manifold_grid(n: int, low: float = 0.05, high: float = 0.95) -> torch.Tensor:
    """n×n points of a 2-D standard normal at evenly spaced quantiles: (n·n, 2).

    Kingma & Welling (2014, Fig. 4) map a unit-square grid through the inverse Gaussian CDF so
    each cell covers equal prior mass. Row-major, top row first: z₂ decreases down the rows, z₁
    increases along them, as in the paper's figure.
    """
    q = torch.linspace(low, high, n)
    values = torch.distributions.Normal(0.0, 1.0).icdf(q)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")
    return torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)


def square_grid(n: int, low: float, high: float) -> torch.Tensor:
    """n×n points evenly spaced in z over [low, high]²: (n·n, 2), laid out as
    :func:`manifold_grid` (row-major, top row at the highest z₂). The 2-D pad indexes it
    linearly in z, so its cells must be even in z, not in prior mass."""
    values = torch.linspace(low, high, n)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")
    return torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)


@dataclass(frozen=True)
class SliderSpace:
    """How sliders map to a code: z = origin + coeffs @ basis, each coeff in [low, high]."""

    origin: torch.Tensor  # (d,)
    basis: torch.Tensor  # (k, d)
    low: torch.Tensor  # (k,)
    high: torch.Tensor  # (k,)
    labels: list[str]

    def to_code(self, coeffs: torch.Tensor) -> torch.Tensor:
        return self.origin + coeffs @ self.basis

    def from_code(self, z: torch.Tensor) -> torch.Tensor:
        """Coefficients of z's projection onto the slider directions (exact when k = d)."""
        return (z - self.origin) @ torch.linalg.pinv(self.basis)

    def values(self, k: int, steps: int) -> torch.Tensor:
        return torch.linspace(float(self.low[k]), float(self.high[k]), steps)


def slider_space(model: LatentModel, n_directions: int = 8, seed: int = 0) -> SliderSpace:
    """Sliders per model kind.

    VAE: one per dimension, ±3 around the N(0, I) prior. AE: one per dimension, from the 1st to
    the 99th percentile of its training codes (an AE has no prior). GAN: the top principal
    directions of 2,000 sampled codes, ±3 of their standard deviations.
    """
    space = _raw_slider_space(model, n_directions, seed)
    # Bounds on the slider's 0.01 grid (rounded outwards), so every step lands on a value that
    # survives rounding to 2 decimals: an off-grid minimum would make some steps round back.
    low = torch.floor(space.low / SLIDER_STEP + 1e-4) * SLIDER_STEP
    high = torch.ceil(space.high / SLIDER_STEP - 1e-4) * SLIDER_STEP
    return SliderSpace(space.origin, space.basis, low, high, space.labels)


def _raw_slider_space(model: LatentModel, n_directions: int, seed: int) -> SliderSpace:
    d = model.latent_dim
    if isinstance(model, AutoEncoder):
        return SliderSpace(
            torch.zeros(d),
            torch.eye(d),
            model.code_low.clone(),
            model.code_high.clone(),
            [f"z{i}" for i in range(d)],
        )
    if model.config.kind == "vae":
        return SliderSpace(
            torch.zeros(d),
            torch.eye(d),
            torch.full((d,), -VAE_RANGE),
            torch.full((d,), VAE_RANGE),
            [f"z{i}" for i in range(d)],
        )
    codes = model.sample(2000, torch.Generator().manual_seed(seed))
    _, components, std = principal_directions(codes, n_directions)
    return SliderSpace(
        torch.zeros(d),
        components,
        -VAE_RANGE * std,
        VAE_RANGE * std,
        [f"PC{i + 1}" for i in range(len(components))],
    )


def covering_bounds(space: SliderSpace, values: list[float]) -> tuple[list[float], list[float]]:
    """Slider bounds on the 0.01 grid that hold the space's range and the given values too, so a
    code outside the usual range (an AE code past its 99th percentile, a rare prior sample) is
    shown where it is instead of being clipped."""
    lows, highs = [], []
    for low, high, value in zip(space.low.tolist(), space.high.tolist(), values, strict=True):
        lows.append(round(min(low, math.floor(value / SLIDER_STEP + 1e-4) * SLIDER_STEP), 2))
        highs.append(round(max(high, math.ceil(value / SLIDER_STEP - 1e-4) * SLIDER_STEP), 2))
    return lows, highs


def principal_directions(
    codes: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean (d,), top-k unit directions (k, d), std along each (k,)) by SVD of centred codes."""
    mean = codes.mean(0)
    _, singular, vh = torch.linalg.svd(codes - mean, full_matrices=False)
    k = min(k, vh.shape[0])
    std = singular[:k] / math.sqrt(max(len(codes) - 1, 1))
    return mean, vh[:k], std
