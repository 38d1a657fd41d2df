"""One training step and one held-out evaluation per model kind.

Each step takes the model (possibly wrapped in DistributedDataParallel), its optimizers and a
batch, updates the weights, and returns plain floats for the metrics log. Losses follow
:mod:`explorer.losses`; a non-finite loss raises :class:`TrainingDiverged` before the update.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from explorer import losses

REAL_LABEL = 0.9  # one-sided label smoothing for the DCGAN discriminator


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def _check_finite(loss: torch.Tensor, what: str) -> None:
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"{what} became {loss.item()}")


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, what: str) -> None:
    _check_finite(loss, what)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def shift_augment(x: torch.Tensor, max_shift: int = 2) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels (a classic MNIST augmentation)."""
    padded = F.pad(x, (max_shift,) * 4)
    out = torch.empty_like(x)
    shifts = torch.randint(0, 2 * max_shift + 1, (x.shape[0], 2))
    for i, (dy, dx) in enumerate(shifts.tolist()):
        out[i] = padded[i, :, dy : dy + 28, dx : dx + 28]
    return out


def step(
    kind: str,
    model: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    x: torch.Tensor,
    y: torch.Tensor,
    beta: float = 1.0,
) -> dict[str, float]:
    """One optimisation step of the given kind on batch (x, y); returns batch metrics."""
    if kind == "vae":
        logits, mu, logvar = model(x)
        terms = losses.ElboTerms(
            losses.bernoulli_log_likelihood(logits, x), losses.kl_per_dim(mu, logvar)
        )
        _update(optimizers["model"], terms.loss(beta).mean(), "VAE loss")
        return {
            "recon": terms.reconstruction.mean().item(),
            "kl": terms.kl.mean().item(),
            "elbo": terms.elbo.mean().item(),
            "kl_per_dim": terms.kl_per_dim.mean(0).tolist(),
        }
    if kind == "ae":
        recon = losses.bernoulli_log_likelihood(model(x), x)
        _update(optimizers["model"], -recon.mean(), "AE loss")
        return {"recon": recon.mean().item()}
    if kind == "classifier":
        logits = model(shift_augment(x))
        loss = F.cross_entropy(logits, y)
        _update(optimizers["model"], loss, "classifier loss")
        return {"loss": loss.item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}
    return _gan_step(model, optimizers, x)


def _gan_step(
    models: nn.Module, optimizers: dict[str, torch.optim.Optimizer], x: torch.Tensor
) -> dict[str, float]:
    """Alternating DCGAN updates: D on real and detached fakes, then G with −log D(G(z))."""
    generator, discriminator = models.generator, models.discriminator
    z = torch.randn(x.shape[0], models.latent_dim, device=x.device)
    fake = torch.sigmoid(generator(z))
    # One discriminator pass over real and fake together keeps DDP to one forward per backward.
    real_logits, fake_logits = discriminator(torch.cat([x, fake.detach()])).split(len(x))
    d_loss = losses.discriminator_loss(real_logits, fake_logits, real_label=REAL_LABEL)
    _update(optimizers["discriminator"], d_loss, "discriminator loss")
    g_logits = discriminator(fake)
    g_loss = losses.generator_loss(g_logits)
    _update(optimizers["generator"], g_loss, "generator loss")
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
    }


@torch.no_grad()
def evaluate(kind: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Held-out metrics, in nats per image where they are likelihoods."""
    was_training = model.training
    model.eval()
    try:
        if kind == "vae":
            gen = torch.Generator().manual_seed(0)
            mu, logvar = model.posterior(x)
            z = model.reparameterize(mu, logvar, gen)
            terms = losses.ElboTerms(
                losses.bernoulli_log_likelihood(model.decode_logits(z), x),
                losses.kl_per_dim(mu, logvar),
            )
            mean_kl = terms.kl_per_dim.mean(0)
            return {
                "test_elbo": terms.elbo.mean().item(),
                "test_recon": terms.reconstruction.mean().item(),
                "test_kl": terms.kl.mean().item(),
                "test_bits_per_dim": terms.bits_per_dim.mean().item(),
                "test_mse": F.mse_loss(torch.sigmoid(model.decode_logits(mu)), x).item(),
                "test_kl_per_dim": mean_kl.tolist(),
                "active_dims": int(losses.active_units(mu).sum()),
            }
        if kind == "ae":
            logits = model(x)
            return {
                "test_recon": losses.bernoulli_log_likelihood(logits, x).mean().item(),
                "test_mse": F.mse_loss(torch.sigmoid(logits), x).item(),
            }
        if kind == "classifier":
            logits = model(x)
            return {
                "test_loss": F.cross_entropy(logits, y).item(),
                "test_accuracy": (logits.argmax(1) == y).float().mean().item(),
            }
        gen = torch.Generator().manual_seed(0)
        fake = model.decode(model.sample(len(x), gen))
        return {
            "test_d_real": torch.sigmoid(model.discriminator(x)).mean().item(),
            "test_d_fake": torch.sigmoid(model.discriminator(fake)).mean().item(),
        }
    finally:
        model.train(was_training)


def make_optimizers(kind: str, model: nn.Module, lr: float) -> dict[str, torch.optim.Optimizer]:
    """Adam for all; the DCGAN uses β1 = 0.5 as Radford et al. recommend."""
    if kind == "gan":
        return {
            "generator": torch.optim.Adam(model.generator.parameters(), lr, betas=(0.5, 0.999)),
            "discriminator": torch.optim.Adam(
                model.discriminator.parameters(), lr, betas=(0.5, 0.999)
            ),
        }
    return {"model": torch.optim.Adam(model.parameters(), lr)}


def mean_metrics(rows: list[dict]) -> dict:
    """Average each metric over a list of batch metrics (lists element-wise)."""
    if not rows:
        return {}
    out: dict = {}
    for key, value in rows[0].items():
        if isinstance(value, list):
            out[key] = [sum(r[key][i] for r in rows) / len(rows) for i in range(len(value))]
        else:
            out[key] = math.fsum(r[key] for r in rows) / len(rows)
    return out
