"""ELBO terms, KL divergences and GAN losses, per image and in nats.

References:
- Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014: the ELBO
  log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z)) and, in Appendix B, the closed-form KL of a
  diagonal Gaussian from N(0, I): -1/2 * sum(1 + log σ² - μ² - σ²).
- Higgins et al., "β-VAE", ICLR 2017: the β-weighted objective -E_q[log p(x|z)] + β KL.
- Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014: the discriminator's BCE and
  the non-saturating generator loss -log D(G(z)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

PIXELS = 28 * 28
LOG2 = math.log(2.0)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) for Bernoulli pixels, summed over pixels: (B, 1, 28, 28) -> (B,) nats."""
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return -per_pixel.flatten(1).sum(1)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) || N(0, 1)) for each dimension, ½(μ² + σ² − 1 − log σ²): (B, d) nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def kl_monte_carlo(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1000,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte Carlo estimate of the per-dimension KL: mean of log q(z) − log p(z), z ~ q.

    q and p both factorize over dimensions, so the estimate splits per dimension. (B, d) nats.
    """
    std = torch.exp(0.5 * logvar)
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype)
    z = mu + std * eps  # (S, B, d)
    log_q = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi))
    log_p = -0.5 * (z.pow(2) + math.log(2 * math.pi))
    return (log_q - log_p).mean(0)


@dataclass(frozen=True)
class ElboTerms:
    """The named terms of one ELBO evaluation, each per image (B,) or (B, d), in nats."""

    reconstruction: torch.Tensor  # E_q[log p(x|z)], one sample of z
    kl_per_dim: torch.Tensor  # closed form, (B, d)

    @property
    def kl(self) -> torch.Tensor:
        return self.kl_per_dim.sum(1)

    @property
    def elbo(self) -> torch.Tensor:
        return self.reconstruction - self.kl

    def loss(self, beta: float = 1.0) -> torch.Tensor:
        """β-VAE objective per image, −E_q[log p(x|z)] + β·KL (β = 1 gives −ELBO)."""
        return -self.reconstruction + beta * self.kl

    @property
    def bits_per_dim(self) -> torch.Tensor:
        """−ELBO in bits per pixel: an upper bound on the code length of the image."""
        return -self.elbo / (PIXELS * LOG2)


def elbo_terms(
    model: torch.nn.Module, x: torch.Tensor, generator: torch.Generator | None = None
) -> ElboTerms:
    """ELBO terms of a VAE on images x, with one reparameterized sample per image."""
    logits, mu, logvar = model(x, generator=generator)
    return ElboTerms(bernoulli_log_likelihood(logits, x), kl_per_dim(mu, logvar))


def active_units(posterior_means: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """Which latent units a VAE uses: (d,) booleans from posterior means μ(x) of N digits (N, d).

    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016, §5.2: unit u is
    active when A_u = Cov_x(E_{u~q(u|x)}[u]) > 0.01, i.e. when its posterior mean moves with the
    input. A unit whose mean stays put carries no information about x whatever its KL.
    """
    if posterior_means.ndim != 2 or len(posterior_means) < 2:
        raise ValueError(
            f"active units need posterior means of at least 2 inputs, (N, d); got "
            f"{tuple(posterior_means.shape)}"
        )
    return posterior_means.var(dim=0) > threshold


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    """−log D(x) − log(1 − D(G(z))), averaged over the batch.

    ``real_label`` < 1 is one-sided label smoothing (Salimans et al., "Improved Techniques for
    Training GANs", NeurIPS 2016): the target for real images becomes, say, 0.9, which keeps a
    discriminator from growing so confident that the generator's gradients vanish.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss −log D(G(z)), averaged over the batch."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def hinge_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """max(0, 1 − D(x)) + max(0, 1 + D(G(z))), batch means (Lim & Ye, "Geometric GAN", 2017;
    the loss of Miyato et al.'s spectrally normalised GAN)."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def hinge_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """−D(G(z)), the generator's side of the hinge loss."""
    return -fake_scores.mean()
