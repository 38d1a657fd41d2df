"""ELBO and GAN loss math against torch.distributions, Monte Carlo and hand-worked values."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from explorer import losses


def test_closed_form_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 7, generator=gen) * 2
    logvar = torch.randn(5, 7, generator=gen)
    reference = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(losses.kl_per_dim(mu, logvar), reference, rtol=1e-5, atol=1e-6)


def test_monte_carlo_kl_agrees_with_closed_form_within_its_error():
    gen = torch.Generator().manual_seed(1)
    mu = torch.tensor([[0.0, 1.5, -2.0, 0.3]])
    logvar = torch.tensor([[0.0, -1.0, 0.5, -3.0]])
    exact = losses.kl_per_dim(mu, logvar)
    estimate = losses.kl_monte_carlo(mu, logvar, n_samples=200_000, generator=gen)
    # Standard error of each mean is below 0.01 for these parameters.
    torch.testing.assert_close(estimate, exact, atol=0.03, rtol=0.0)
    assert exact[0, 0].item() == pytest.approx(0.0, abs=1e-7)  # q = p gives zero


def test_bernoulli_log_likelihood_is_the_summed_log_probability():
    logits = torch.tensor([0.0, 2.0, -1.0]).reshape(1, 1, 1, 3)
    x = torch.tensor([1.0, 0.0, 0.25]).reshape(1, 1, 1, 3)
    p = torch.sigmoid(logits)
    expected = (x * p.log() + (1 - x) * (1 - p).log()).sum()
    assert losses.bernoulli_log_likelihood(logits, x).item() == pytest.approx(
        expected.item(), rel=1e-6
    )


def test_elbo_terms_combine_as_named():
    recon = torch.tensor([-100.0, -80.0])
    kl_dims = torch.tensor([[1.0, 2.0], [0.5, 0.5]])
    terms = losses.ElboTerms(recon, kl_dims)
    assert terms.kl.tolist() == [3.0, 1.0]
    assert terms.elbo.tolist() == [-103.0, -81.0]
    assert terms.loss(beta=4.0).tolist() == [112.0, 84.0]
    assert terms.bits_per_dim[0].item() == pytest.approx(103.0 / (784 * math.log(2)))


def test_active_units_follow_burda_et_al():
    # Posterior means of 4 digits in 4 units. Unit 0 is constant (the encoder ignores x) but far
    # from the prior's mean, so its KL is large: an "average KL" rule would call it active.
    # Units 1 and 2 vary by ±0.05 and ±0.2 around 0: variances 0.0033 and 0.053 (unbiased).
    mu = torch.tensor(
        [
            [2.0, 0.05, 0.2, -1.0],
            [2.0, -0.05, -0.2, 1.0],
            [2.0, 0.05, 0.2, -1.0],
            [2.0, -0.05, -0.2, 1.0],
        ]
    )
    assert losses.active_units(mu).tolist() == [False, False, True, True]
    assert losses.active_units(mu, threshold=0.001).tolist() == [False, True, True, True]


def test_gan_losses_match_hand_worked_values():
    zero = torch.zeros(4)
    # D = sigmoid(0) = 1/2: -log(1/2) - log(1 - 1/2) = 2 ln 2.
    assert losses.discriminator_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    # D(G(z)) = sigmoid(ln 3) = 3/4: non-saturating loss is -log(3/4).
    logit = torch.full((3,), math.log(3.0))
    assert losses.generator_loss(logit).item() == pytest.approx(-math.log(0.75))
    # A confident, correct discriminator: D(x) = 0.9, D(G(z)) = 0.2.
    real = torch.tensor([math.log(0.9 / 0.1)])
    fake = torch.tensor([math.log(0.2 / 0.8)])
    expected = -math.log(0.9) - math.log(0.8)
    assert losses.discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)


def test_one_sided_label_smoothing_targets_the_smoothed_label():
    real = torch.tensor([math.log(0.9 / 0.1)])  # D(x) = 0.9, exactly the smoothed target
    fake = torch.tensor([-30.0])  # D(G(z)) ≈ 0
    expected = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert losses.discriminator_loss(real, fake, real_label=0.9).item() == pytest.approx(
        expected, rel=1e-5
    )


def test_hinge_losses_by_hand():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.5])
    # mean(max(0, 1 - real)) = (0 + 0.5 + 2) / 3; mean(max(0, 1 + fake)) = (0 + 1 + 2.5) / 3
    assert losses.hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert losses.hinge_generator_loss(fake).item() == pytest.approx(-(-2.0 + 0.0 + 1.5) / 3)
