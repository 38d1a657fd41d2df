"""One training step and one held-out evaluation per model kind.

Each step takes the model (possibly wrapped in DistributedDataParallel), its optimizers and a
batch, updates the weights, and returns plain floats for the metrics log. Losses follow
:mod:`explorer.losses`; a non-finite loss raises :class:`TrainingDiverged` before the update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from explorer import losses, metrics
from explorer.models import AVERAGED_GAN_ARCHS

REAL_LABEL = 0.9  # one-sided label smoothing for the DCGAN discriminator
EMA_DECAY = 0.999  # archs "sn", "lite": the generator average's memory is about 1,000 steps


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class GanRecipe:
    """How an averaged GAN (archs "sn" and "lite") trains: its loss ("hinge", or "bce", the
    non-saturating one), DiffAugment on what the discriminator sees, the R1 penalty weight γ
    (Mescheder et al., "Which Training Methods for GANs do actually Converge?", ICML 2018) and
    the generator average's decay."""

    loss: str = "hinge"
    diffaugment: bool = True
    r1: float = 0.0
    ema_decay: float = EMA_DECAY


def _check_finite(loss: torch.Tensor, what: str) -> None:
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"{what} became {loss.item()}")


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, what: str) -> None:
    _check_finite(loss, what)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def augment(
    x: torch.Tensor, shift: int = 0, rotate: float = 0.0, blur: float = 0.0
) -> torch.Tensor:
    """Each image turned by a random angle in [−rotate, rotate] degrees, then moved by a random
    whole number of pixels in [−shift, shift] on each axis, zeros filling in (the classic
    small-data remedies for MNIST: Simard, Steinkraus & Platt, "Best Practices for
    Convolutional Neural Networks Applied to Visual Document Analysis", ICDAR 2003), then
    blurred by a Gaussian of random width σ in [0, blur] pixels (see ``gaussian_blur``; no
    bundled recipe uses it: a reader must not be shaped by the decodes it judges). Shifts
    copy pixels exactly; a rotation resamples bilinearly. Differentiable in x. Uses torch's
    global generator, which the run seeds."""
    if rotate > 0:
        n = x.shape[0]
        angle = (torch.rand(n) * 2 - 1) * math.radians(rotate)
        cos, sin, zero = angle.cos(), angle.sin(), torch.zeros(n)
        theta = torch.stack(
            [torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1
        )
        grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if shift > 0:
        n, _, height, width = x.shape
        dy, dx = torch.randint(-shift, shift + 1, (2, n, 1), device=x.device)
        padded = F.pad(x, (shift,) * 4)
        rows = torch.arange(height, device=x.device) + shift - dy  # (n, height)
        cols = torch.arange(width, device=x.device) + shift - dx
        batch = torch.arange(n, device=x.device)[:, None, None]
        x = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if blur > 0:
        x = gaussian_blur(x, torch.rand(x.shape[0]) * blur)
    return x


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Each image of x (N, 1, H, W) convolved with its own normalised Gaussian of width
    ``sigma[i]`` pixels (separable, 7 taps, zeros beyond the border); σ = 0 leaves it as it is.
    """
    n = x.shape[0]
    taps = torch.arange(-3, 4, dtype=x.dtype, device=x.device)
    width = sigma.to(x).clamp_min(1e-6)[:, None]
    kernel = torch.exp(-0.5 * (taps[None, :] / width) ** 2)
    kernel = kernel / kernel.sum(1, keepdim=True)  # (n, 7); σ → 0 gives the unit impulse
    grouped = x.reshape(1, n, *x.shape[2:])
    rows = F.conv2d(grouped, kernel[:, None, :, None], padding=(3, 0), groups=n)
    both = F.conv2d(rows, kernel[:, None, None, :], padding=(0, 3), groups=n)
    return both.reshape(x.shape)


def diff_augment(x: torch.Tensor, shift: int = 3, cutout: int = 14) -> torch.Tensor:
    """DiffAugment's translation and cutout (Zhao et al., "Differentiable Augmentation for
    Data-Efficient GAN Training", NeurIPS 2020), for grey digits: each image moved by up to
    ``shift`` whole pixels (1/8 of 28) with zeros filling in, then a ``cutout`` × ``cutout``
    square (half the side) blanked at a random place. Both are differentiable in x, so they
    can sit between the generator and the discriminator; real and fake images get them alike,
    and the discriminator cannot memorise 4,000 digits."""
    n, _, height, width = x.shape
    moved = augment(x, shift=shift)
    centre = torch.stack([torch.randint(0, height, (n,)), torch.randint(0, width, (n,))], 1)
    rows = torch.arange(height)[None, :, None]
    cols = torch.arange(width)[None, None, :]
    half = cutout // 2
    inside = ((rows - centre[:, 0, None, None]).abs() < half) & (
        (cols - centre[:, 1, None, None]).abs() < half
    )
    return moved * (~inside).unsqueeze(1).to(x.dtype).to(x.device)


def step(
    kind: str,
    model: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    x: torch.Tensor,
    y: torch.Tensor,
    beta: float = 1.0,
    gan: GanRecipe = GanRecipe(),  # frozen, so one shared default is safe
) -> dict[str, float]:
    """One optimisation step of the given kind on batch (x, y); returns batch metrics.
    ``gan``: how an averaged GAN (archs "sn", "lite") trains."""
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
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        _update(optimizers["model"], loss, "classifier loss")
        return {"loss": loss.item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}
    return _gan_step(model, optimizers, x, gan)


def _gan_step(
    models: nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    x: torch.Tensor,
    gan: GanRecipe,
) -> dict[str, float]:
    """Alternating DCGAN updates: D on real and detached fakes (in one pass, which keeps DDP to
    one forward per backward), then G.

    Arch "conv": Radford et al.'s losses, BCE with one-sided label smoothing and G's
    −log D(G(z)). Archs "sn" and "lite" (averaged): the recipe's loss, DiffAugment on every
    image D sees, an optional R1 penalty, and after each step the generator's moving average is
    updated.
    """
    config = getattr(models, "config", None)
    averaged = config is not None and config.arch in AVERAGED_GAN_ARCHS
    augment_d = diff_augment if averaged and gan.diffaugment else (lambda images: images)
    hinge, r1 = averaged and gan.loss == "hinge", gan.r1 if averaged else 0.0
    generator, discriminator = models.generator, models.discriminator
    z = torch.randn(x.shape[0], models.latent_dim, device=x.device)
    fake = torch.sigmoid(generator(z))
    real_in, fake_in = augment_d(torch.cat([x, fake.detach()])).split(len(x))
    if r1 > 0:
        real_in = real_in.detach().requires_grad_(True)
    real_scores, fake_scores = discriminator(torch.cat([real_in, fake_in])).split(len(x))
    if hinge:
        d_loss = losses.hinge_discriminator_loss(real_scores, fake_scores)
    else:
        real_label = 1.0 if averaged else REAL_LABEL
        d_loss = losses.discriminator_loss(real_scores, fake_scores, real_label=real_label)
    if r1 > 0:
        d_loss = d_loss + r1 / 2 * r1_penalty(real_scores, real_in)
    _update(optimizers["discriminator"], d_loss, "discriminator loss")
    g_scores = discriminator(augment_d(fake))
    g_loss = losses.hinge_generator_loss(g_scores) if hinge else losses.generator_loss(g_scores)
    _update(optimizers["generator"], g_loss, "generator loss")
    if averaged:
        models.update_ema(gan.ema_decay)
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(real_scores).mean().item(),
        "d_fake": torch.sigmoid(fake_scores).mean().item(),
    }


def r1_penalty(real_scores: torch.Tensor, real_in: torch.Tensor) -> torch.Tensor:
    """E‖∇ₓD(x)‖² over real images (Mescheder et al. 2018, eq. 9, without the γ/2): the
    gradient is kept in the graph so the discriminator's step minimises it."""
    (grad,) = torch.autograd.grad(real_scores.sum(), real_in, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


@torch.no_grad()
def evaluate(
    kind: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, prefix: str = "test_"
) -> dict[str, float]:
    """Held-out metrics (one draw of z for a VAE's ELBO), in nats per image where they are
    likelihoods; keys start with ``prefix`` ("val_" while training, "test_" once at the end)."""
    return {
        (key if key == "active_dims" else prefix + key.removeprefix("test_")): value
        for key, value in _evaluate(kind, model, x, y).items()
    }


EVAL_CHUNK = 1000  # held-out digits evaluated at once: 9,000 validation digits stay small


def _evaluate(kind: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Means over the held-out digits, computed EVAL_CHUNK digits at a time (the same numbers
    as all at once: a VAE's noise is drawn for every digit first, in one call)."""
    was_training = model.training
    model.eval()
    chunks = [slice(i, i + EVAL_CHUNK) for i in range(0, len(x), EVAL_CHUNK)]
    try:
        if kind == "vae":
            return _evaluate_vae(model, x, chunks)
        if kind == "ae":
            sums = {"test_recon": 0.0, "test_mse": 0.0}
            for part in chunks:
                logits = model(x[part])
                sums["test_recon"] += losses.bernoulli_log_likelihood(logits, x[part]).sum().item()
                sums["test_mse"] += F.mse_loss(
                    torch.sigmoid(logits), x[part], reduction="sum"
                ).item()
            return {
                "test_recon": sums["test_recon"] / len(x),
                "test_mse": sums["test_mse"] / x.numel(),
            }
        if kind == "classifier":
            loss, right = 0.0, 0
            for part in chunks:
                logits = model(x[part])
                loss += F.cross_entropy(logits, y[part], reduction="sum").item()
                right += int((logits.argmax(1) == y[part]).sum())
            return {"test_loss": loss / len(x), "test_accuracy": right / len(x)}
        gen = torch.Generator().manual_seed(0)
        fake = model.decode(model.sample(len(x), gen))
        real_p = sum(torch.sigmoid(model.discriminator(x[p])).sum().item() for p in chunks)
        fake_p = sum(torch.sigmoid(model.discriminator(fake[p])).sum().item() for p in chunks)
        return {"test_d_real": real_p / len(x), "test_d_fake": fake_p / len(x)}
    finally:
        model.train(was_training)


def _evaluate_vae(model: nn.Module, x: torch.Tensor, chunks: list[slice]) -> dict:
    """One draw of z per digit (seed 0): ELBO and its terms, reconstruction MSE from μ, KL per
    dimension and the active units (Burda et al.'s criterion, over every digit's μ)."""
    gen = torch.Generator().manual_seed(0)
    eps = torch.randn((len(x), model.latent_dim), generator=gen)
    sums = dict.fromkeys(("elbo", "recon", "kl", "bits"), 0.0)
    mse, kl_dims, means = 0.0, 0.0, []
    for part in chunks:
        mu, logvar = model.posterior(x[part])
        z = mu + torch.exp(0.5 * logvar) * eps[part].to(mu)
        terms = losses.ElboTerms(
            losses.bernoulli_log_likelihood(model.decode_logits(z), x[part]),
            losses.kl_per_dim(mu, logvar),
        )
        sums["elbo"] += terms.elbo.sum().item()
        sums["recon"] += terms.reconstruction.sum().item()
        sums["kl"] += terms.kl.sum().item()
        sums["bits"] += terms.bits_per_dim.sum().item()
        recon = torch.sigmoid(model.decode_logits(mu))
        mse += F.mse_loss(recon, x[part], reduction="sum").item()
        kl_dims = kl_dims + terms.kl_per_dim.sum(0)
        means.append(mu)
    n = len(x)
    return {
        "test_elbo": sums["elbo"] / n,
        "test_recon": sums["recon"] / n,
        "test_kl": sums["kl"] / n,
        "test_bits_per_dim": sums["bits"] / n,
        "test_mse": mse / x.numel(),
        "test_kl_per_dim": (kl_dims / n).tolist(),
        "active_dims": int(losses.active_units(torch.cat(means)).sum()),
    }


def make_optimizers(
    kind: str, model: nn.Module, lr: float, lr_d: float | None = None
) -> dict[str, torch.optim.Optimizer]:
    """Adam for all; the DCGAN uses β1 = 0.5 as Radford et al. recommend, and its
    discriminator ``lr_d`` when given (Heusel et al.'s two time-scale update rule)."""
    if kind == "gan":
        return {
            "generator": torch.optim.Adam(model.generator.parameters(), lr, betas=(0.5, 0.999)),
            "discriminator": torch.optim.Adam(
                model.discriminator.parameters(), lr_d or lr, betas=(0.5, 0.999)
            ),
        }
    return {"model": torch.optim.Adam(model.parameters(), lr)}


@torch.no_grad()
def sample_frechet(model: nn.Module, reader: nn.Module, x_val: torch.Tensor) -> dict[str, float]:
    """A GAN's validation score: the Fréchet distance between as many of its samples as there
    are validation digits (seed 0) and those digits, on ``reader``'s features."""
    was_training = model.training
    model.eval()
    try:
        z = model.sample(len(x_val), torch.Generator().manual_seed(0)).to(x_val.device)
        fake = model.decode(z)
    finally:
        model.train(was_training)
    real_f = metrics.classifier_features(reader, x_val)
    fake_f = metrics.classifier_features(reader, fake)
    return {"val_frechet": metrics.frechet_distance(real_f, fake_f)}


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
