"""What each page computes, as plain functions of models and tensors (no Streamlit).

All inference runs under ``torch.inference_mode`` on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import latent, losses, metrics
from explorer.models import LatentModel


@torch.inference_mode()
def decode(model: LatentModel, codes: torch.Tensor) -> torch.Tensor:
    """Images (n, 1, 28, 28) for codes (n, d) or one code (d,)."""
    return model.decode(codes.reshape(-1, model.latent_dim).float())


@torch.inference_mode()
def encode(model: LatentModel, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Codes (n, d): the AE's code or the VAE's posterior mean."""
    return torch.cat([model.encode(images[i : i + batch]) for i in range(0, len(images), batch)])


@torch.inference_mode()
def reconstruct(model: LatentModel, images: torch.Tensor) -> torch.Tensor:
    return model.decode(model.encode(images))


@dataclass(frozen=True)
class Strip:
    """Frames of an interpolation from a (λ = 1) to b (λ = 0) with their smoothness."""

    lams: np.ndarray  # (n,)
    codes: torch.Tensor  # (n, d)
    frames: torch.Tensor  # (n, 1, 28, 28)
    max_change: np.ndarray  # (n−1,)
    mean_change: np.ndarray  # (n−1,)
    labels: np.ndarray  # (n,) classifier's digit per frame
    confidence: np.ndarray  # (n,) its top probability


def strip(
    model: LatentModel,
    a: torch.Tensor,
    b: torch.Tensor,
    n: int,
    mode: str,
    classifier: nn.Module | None = None,
) -> Strip:
    """Interpolate codes a and b in n frames and measure the path's smoothness."""
    codes = latent.path(a, b, n, mode)
    frames = decode(model, codes)
    max_change, mean_change = metrics.frame_changes(frames)
    if classifier is not None:
        with torch.inference_mode():
            labels, confidence = metrics.classifier_confidence(classifier, frames)
        labels, confidence = labels.numpy(), confidence.numpy()
    else:
        labels, confidence = np.full(n, -1), np.full(n, np.nan)
    return Strip(
        latent.lambdas(n).numpy(),
        codes,
        frames,
        max_change.numpy(),
        mean_change.numpy(),
        labels,
        confidence,
    )


@torch.inference_mode()
def filmstrips(
    model: LatentModel, space: latent.SliderSpace, coeffs: torch.Tensor, k: int
) -> torch.Tensor:
    """For each slider, the images of the current code with that slider at k values across its
    range, the others fixed: (sliders, k, 28, 28) floats. The browser shows the frame under the
    pointer while dragging."""
    n = len(coeffs)
    grid = coeffs.reshape(1, 1, n).repeat(n, k, 1)
    for i in range(n):
        grid[i, :, i] = space.values(i, k)
    codes = space.to_code(grid.reshape(n * k, n))
    # Chunks of 100 keep a decode's activations near 20 MB per layer, so concurrent sessions
    # don't each hold 400 images' worth (about 80 MB per layer) at once.
    images = torch.cat([model.decode(codes[i : i + 100]) for i in range(0, len(codes), 100)])
    return images.reshape(n, k, 28, 28)


def lambda_frames(
    model: LatentModel, a: torch.Tensor, b: torch.Tensor, k: int, mode: str
) -> torch.Tensor:
    """Frames (k, 28, 28) at λ = 0, 1/(k−1), …, 1: the λ slider's filmstrip, b first, a last."""
    return decode(model, latent.path(a, b, k, mode)).flip(0)[:, 0]


@dataclass(frozen=True)
class ElboReport:
    """ELBO terms of one digit, in nats."""

    reconstruction: float
    kl_per_dim: np.ndarray
    kl_monte_carlo: np.ndarray
    image: torch.Tensor  # reconstruction from the posterior mean

    @property
    def kl(self) -> float:
        return float(self.kl_per_dim.sum())

    @property
    def elbo(self) -> float:
        return self.reconstruction - self.kl

    @property
    def bits_per_dim(self) -> float:
        return -self.elbo / (losses.PIXELS * losses.LOG2)

    def objective(self, beta: float) -> float:
        """β-weighted loss −E[log p(x|z)] + β·KL."""
        return -self.reconstruction + beta * self.kl


@torch.inference_mode()
def elbo_report(vae: nn.Module, x: torch.Tensor, samples: int = 64, seed: int = 0) -> ElboReport:
    """Terms for one image (1, 28, 28); the reconstruction term averages ``samples`` draws of z."""
    gen = torch.Generator().manual_seed(seed)
    mu, logvar = vae.posterior(x.unsqueeze(0))
    z = vae.reparameterize(mu.expand(samples, -1), logvar.expand(samples, -1), gen)
    recon = losses.bernoulli_log_likelihood(vae.decode_logits(z), x.expand(samples, -1, -1, -1))
    return ElboReport(
        reconstruction=float(recon.mean()),
        kl_per_dim=losses.kl_per_dim(mu, logvar)[0].numpy(),
        kl_monte_carlo=losses.kl_monte_carlo(mu, logvar, 2000, gen)[0].numpy(),
        image=torch.sigmoid(vae.decode_logits(mu))[0],
    )


@torch.inference_mode()
def dataset_kl(vae: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Average closed-form KL per dimension over a set of images: (d,)."""
    mu, logvar = vae.posterior(images)
    return losses.kl_per_dim(mu, logvar).mean(0).numpy()


@torch.inference_mode()
def first_read_as_itself(
    classifier: nn.Module, images: torch.Tensor, labels: np.ndarray, digit: int
) -> int:
    """Index within class ``digit`` of its first image that ``classifier`` reads as that digit
    with confidence >= 0.9 (as "read as a digit" counts everywhere); 0 when none is. Held-out
    digits are not all clean: Interpolation's first 7 is read as a 1."""
    rows = np.flatnonzero(np.asarray(labels) == digit)
    if not len(rows):
        return 0
    read, confidence = metrics.classifier_confidence(classifier, images[rows])
    found = np.flatnonzero(((read == digit) & (confidence >= 0.9)).numpy())
    return int(found[0]) if len(found) else 0


def default_pair(rows: list[int], labels: np.ndarray) -> tuple[int, int]:
    """Two of the selected held-out rows to interpolate between: the first, and the first after
    it of another digit class (a lasso lists its points class by class, so the first two are
    usually the same digit); the second row when every point is the same digit."""
    if len(rows) < 2:
        raise ValueError(f"an interpolation needs two selected points, got {len(rows)}")
    a = rows[0]
    b = next((r for r in rows[1:] if labels[r] != labels[a]), rows[1])
    return a, b


def run_progress(steps: list[dict], epochs: list[dict]) -> str:
    """Where a training run stands, from its metrics log: "epoch 2 of 3, step 115 of 141".

    Step records carry the run's epoch count and steps per epoch (``epochs``, ``epoch_steps``);
    logs written without them give "epoch 2, step 256" (the step counted from the start).
    """
    last_step = steps[-1] if steps else None
    last_epoch = epochs[-1] if epochs else None
    total = (last_step or {}).get("epochs")
    of_epochs = f" of {total}" if total else ""
    if last_step is None or (last_epoch is not None and last_epoch["step"] >= last_step["step"]):
        return f"epoch {last_epoch['epoch']}{of_epochs} done"
    epoch, step, per_epoch = last_step["epoch"], last_step["step"], last_step.get("epoch_steps")
    if per_epoch:
        return f"epoch {epoch}{of_epochs}, step {step - (epoch - 1) * per_epoch} of {per_epoch}"
    return f"epoch {epoch}{of_epochs}, step {step}"


def inactive_units_text(active: list[bool]) -> str:
    """The caption under the active-units count: the criterion, and which units are inactive."""
    inactive = [f"z{j}" for j, used in enumerate(active) if not used]
    names = f"Inactive: {', '.join(inactive)}." if inactive else "Every unit is active."
    return (
        f"{names} A unit is active when its posterior mean varies across digits, "
        "Var_x(E_q[z_j | x]) > 0.01 (Burda et al., 2016); an inactive unit tells the decoder "
        "nothing about the digit. Small average KL alone does not make a unit inactive."
    )


# Home's names for the held-out numbers a checkpoint records (explorer.train.test_metrics).
HELD_OUT_LABELS = {
    "test_iwae": "log-likelihood, IWAE bound L_k (nats)",
    "test_elbo": "ELBO (nats)",
    "test_recon": "reconstruction E_q log p(x|z) (nats)",
    "test_kl": "KL(q(z|x) ‖ p(z)) (nats)",
    "test_bits_per_dim": "−ELBO in bits per pixel",
    "test_mse": "reconstruction MSE",
    "active_dims": "active units (Burda et al.)",
    "test_accuracy": "accuracy",
    "test_loss": "cross-entropy (nats)",
    "test_d_real": "D(x), held-out digits",
    "test_d_fake": "D(G(z)), samples",
}


def held_out_rows(meta: dict) -> list[tuple[str, str]]:
    """(label, value) rows of a checkpoint's held-out numbers, for Home: the likelihoods with
    their Monte Carlo noise and number of draws, the split with its validation part."""
    metrics = meta.get("metrics", {})
    k = metrics.get("test_eval_k")
    rows = []
    for key, label in HELD_OUT_LABELS.items():
        value = metrics.get(key)
        if not isinstance(value, int | float):
            continue
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        noise = metrics.get(f"{key}_noise")
        if noise is not None:
            text = f"{value:.2f} ± {noise:.2f}"
            label = label.replace("L_k", f"L_{k}") + (
                f", {k} draws of z" if key == "test_elbo" else ""
            )
        rows.append((label, text))
    return rows


def split_text(split: dict) -> str:
    """ "mnist: 4,000 train / 500 validation / 500 test (seed 0)" from a checkpoint's split."""
    test, val = split.get("test_size", "?"), split.get("val_size", 0)
    parts = f"{val} validation / {test} test" if val else f"{test} test"
    return f"{split.get('dataset', '?')}: {parts} held out (seed {split.get('seed', '?')})"
