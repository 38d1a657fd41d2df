"""Held-out log-likelihood of a VAE, estimated with many draws of z per image.

Two estimates from the same k draws z_1..z_k ~ q(z|x) per image:

- the ELBO (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, eq. 3), with the
  reconstruction term averaged over the k draws and the KL in closed form. One draw gives the
  ELBO of a 500-digit test set to about ±0.26 nats; k draws shrink that noise by √k.
- the importance-weighted bound (Burda, Grosse & Salakhutdinov, "Importance Weighted
  Autoencoders", ICLR 2016, eq. 8), L_k = log (1/k) Σ_i p(x, z_i) / q(z_i|x). L_1 is the ELBO,
  L_k grows with k in expectation and tends to log p(x); L_1000 is the usual estimate of a
  VAE's log-likelihood.

Every image draws from its own generator, seeded by (seed, its index), so the values of any
subset of a test set are exactly those of the whole run: ``tests/test_bundled.py`` re-checks a
bundled model's numbers on a few digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from explorer import losses

LOG_2PI = math.log(2 * math.pi)
DECODE_BATCH = 2000  # codes per decoder call


@dataclass(frozen=True)
class Likelihood:
    """Per-image estimates (N,) in nats, float64, and their Monte Carlo noise."""

    elbo: torch.Tensor
    kl: torch.Tensor  # closed form, per image
    iwae: torch.Tensor
    elbo_noise: torch.Tensor  # standard error of each image's ELBO from the k draws
    iwae_noise: torch.Tensor  # delta-method standard error of each image's log-mean-weight
    k: int

    def summary(self, prefix: str = "test_") -> dict[str, float]:
        """Means over the images, and the Monte Carlo noise of each mean (nats)."""
        n = len(self.elbo)
        return {
            f"{prefix}elbo": float(self.elbo.mean()),
            f"{prefix}recon": float((self.elbo + self.kl).mean()),
            f"{prefix}bits_per_dim": float(-self.elbo.mean() / (losses.PIXELS * losses.LOG2)),
            f"{prefix}elbo_noise": float(self.elbo_noise.pow(2).sum().sqrt() / n),
            f"{prefix}iwae": float(self.iwae.mean()),
            f"{prefix}iwae_noise": float(self.iwae_noise.pow(2).sum().sqrt() / n),
            f"{prefix}eval_k": self.k,
        }


def _generator(seed: int, index: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + index)


@torch.no_grad()
def estimate(model, x: torch.Tensor, k: int = 1000, seed: int = 0, first: int = 0) -> Likelihood:
    """ELBO and IWAE bound L_k of each image in x (N, 1, 28, 28) under a VAE.

    ``first`` is the index of x[0] in its test set (for the per-image seeds).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    was_training = model.training
    model.eval()
    try:
        mu, logvar = model.posterior(x)
        kl = losses.kl_per_dim(mu, logvar).sum(1).double()
        per_call = max(1, DECODE_BATCH // k)
        recon, log_w = [], []
        for start in range(0, len(x), per_call):
            rows = range(start, min(start + per_call, len(x)))
            eps = torch.stack(
                [torch.randn(k, mu.shape[1], generator=_generator(seed, first + i)) for i in rows]
            )  # (B, k, d)
            z = (
                mu[rows.start : rows.stop, None]
                + torch.exp(0.5 * logvar[rows.start : rows.stop, None]) * eps
            )
            log_px_z = _decoded_log_likelihood(model, z, x[rows.start : rows.stop]).double()
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(2).double()
            log_qz = -0.5 * (eps.pow(2) + logvar[rows.start : rows.stop, None] + LOG_2PI).sum(2)
            recon.append(log_px_z)
            log_w.append(log_px_z + log_pz - log_qz.double())
        recon_t, log_w_t = torch.cat(recon), torch.cat(log_w)
    finally:
        model.train(was_training)
    elbo = recon_t.mean(1) - kl
    elbo_noise = recon_t.std(1) / math.sqrt(k) if k > 1 else torch.zeros_like(elbo)
    iwae = torch.logsumexp(log_w_t, 1) - math.log(k)
    weights = torch.exp(log_w_t - log_w_t.max(1, keepdim=True).values)
    iwae_noise = (
        weights.std(1) / (math.sqrt(k) * weights.mean(1)) if k > 1 else torch.zeros_like(iwae)
    )
    return Likelihood(elbo, kl, iwae, elbo_noise, iwae_noise, k)


def _decoded_log_likelihood(model, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x_b | z_bi) for codes z (B, k, d) of images x (B, 1, 28, 28): (B, k), decoded at
    most ``DECODE_BATCH`` codes per call, so memory stays bounded for any k (one call of k =
    20,000 codes once took 7 GB); the codes are the same in any chunking."""
    codes, k = z.flatten(0, 1), z.shape[1]  # (B·k, d); code i belongs to image i // k
    parts = []
    for start in range(0, len(codes), DECODE_BATCH):
        owner = torch.arange(start, min(start + DECODE_BATCH, len(codes))) // k
        logits = model.decode_logits(codes[start : start + DECODE_BATCH])
        parts.append(losses.bernoulli_log_likelihood(logits, x[owner]))
    return torch.cat(parts).view(z.shape[0], k)
