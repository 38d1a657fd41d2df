"""ELBO and IWAE estimates against exact values of a VAE whose log p(x) is known by quadrature,
and the validation split carved from the training digits."""

import math

import pytest
import torch
from torch import nn

from explorer import data, likelihood, losses


class OneDimVAE(nn.Module):
    """d = 1, a fixed (deliberately imperfect) Gaussian posterior, a linear Bernoulli decoder
    over 6 pixels: log p(x) = log ∫ p(x|z) N(z; 0, 1) dz is a 1-D integral done exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.tensor([2.0, -1.5, 0.5, 3.0, -2.5, 1.0])
        self.b = torch.tensor([0.1, 0.2, -0.3, 0.0, 0.5, -0.2])

    def posterior(self, x):
        mu = (x * self.w).sum(1, keepdim=True) * 0.3 - 0.2
        return mu, torch.full_like(mu, math.log(0.4))

    def decode_logits(self, z):
        return z * self.w + self.b


def exact(model: OneDimVAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(x), ELBO) per image by the trapezoid rule on a fine grid of z (float64)."""
    z = torch.linspace(-12, 12, 200_001, dtype=torch.float64)[:, None]
    w, b = model.w.double(), model.b.double()
    log_prior = -0.5 * (z.pow(2) + math.log(2 * math.pi)).squeeze(1)
    out_logp, out_elbo = [], []
    for row in x.double():
        logits = z * w + b
        log_px_z = -nn.functional.binary_cross_entropy_with_logits(
            logits, row.expand_as(logits), reduction="none"
        ).sum(1)
        joint = log_px_z + log_prior
        out_logp.append(torch.logsumexp(joint, 0) + math.log(z[1, 0] - z[0, 0]))
        mu, logvar = (t.double() for t in model.posterior(row[None].float()))
        q = torch.exp(
            -0.5 * ((z.squeeze(1) - mu) ** 2 / logvar.exp() + logvar + math.log(2 * math.pi))
        )
        recon = torch.trapezoid(q.squeeze(0) * log_px_z, z.squeeze(1))
        out_elbo.append(recon - losses.kl_per_dim(mu, logvar).sum().double())
    return torch.stack(out_logp), torch.stack(out_elbo)


X = torch.tensor(
    [[1, 0, 1, 1, 0, 1], [0, 1, 0, 0, 1, 0], [1, 1, 1, 0, 0, 0], [0.5, 0.2, 0.9, 1, 0, 0.3]]
)


def test_iwae_approaches_the_exact_log_likelihood_and_bounds_it_in_k():
    model = OneDimVAE()
    logp, elbo = exact(model, X)
    assert (elbo < logp - 0.05).all()  # the posterior is off: the bounds have a gap to close
    found = {k: likelihood.estimate(model, X, k=k, seed=3) for k in (1, 10, 5000)}
    torch.testing.assert_close(found[5000].iwae, logp, atol=0.02, rtol=0)
    means = [found[k].iwae.mean().item() for k in (1, 10, 5000)]
    assert means[0] < means[1] < means[2] <= logp.mean().item() + 0.01


def test_elbo_of_many_draws_matches_the_exact_elbo_within_its_reported_noise():
    model = OneDimVAE()
    _, elbo = exact(model, X)
    found = likelihood.estimate(model, X, k=4000, seed=0)
    assert (found.elbo - elbo).abs().max() < 4 * found.elbo_noise.max() + 1e-3
    assert 0 < found.elbo_noise.max() < 0.05
    summary = found.summary("test_")
    assert summary["test_elbo"] == pytest.approx(found.elbo.mean().item())
    assert summary["test_recon"] - summary["test_elbo"] == pytest.approx(found.kl.mean().item())
    assert summary["test_elbo_noise"] < found.elbo_noise.max()  # a mean of 4 is less noisy


def test_each_image_has_its_own_seed_so_subsets_reproduce_the_whole():
    model = OneDimVAE()
    whole = likelihood.estimate(model, X, k=50, seed=7)
    part = likelihood.estimate(model, X[2:], k=50, seed=7, first=2)
    torch.testing.assert_close(part.iwae, whole.iwae[2:], rtol=0, atol=1e-12)
    other = likelihood.estimate(model, X, k=50, seed=8)
    assert not torch.equal(other.iwae, whole.iwae)
    with pytest.raises(ValueError, match="k must be at least 1"):
        likelihood.estimate(model, X, k=0)


def test_validation_is_a_stratified_part_of_train_and_leaves_test_as_it_was():
    train, val, test = data.load_parts(data.Split("mnist", seed=0, test_size=500, val_size=500))
    old_train, old_test = data.load_split(data.Split("mnist", seed=0, test_size=500))
    assert (len(train), len(val), len(test)) == (4000, 500, 500)
    assert torch.bincount(val.labels).tolist() == [50] * 10
    assert torch.equal(test.images, old_test.images)
    rows = {tuple(r) for r in old_train.images.flatten(1)[:, ::7].tolist()}
    parts = [{tuple(r) for r in d.images.flatten(1)[:, ::7].tolist()} for d in (train, val)]
    assert parts[0] | parts[1] == rows and not parts[0] & parts[1]
    again = data.load_parts(data.Split("mnist", seed=0, test_size=500, val_size=500))[1]
    assert torch.equal(again.images, val.images)
    assert data.Split("mnist", 0, 500).to_dict() == {
        "dataset": "mnist",
        "seed": 0,
        "test_size": 500,
    }


def test_many_draws_are_decoded_in_bounded_chunks_with_the_same_values(monkeypatch):
    """Above DECODE_BATCH draws per image, an image's draws are decoded in chunks (k = 20,000
    in one call once took 7 GB); the chunking changes no value."""

    class Counting(OneDimVAE):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[int] = []

        def decode_logits(self, z):
            self.calls.append(len(z))
            return super().decode_logits(z)

    model = Counting()
    chunked = likelihood.estimate(model, X, k=5000, seed=1)
    assert max(model.calls) <= likelihood.DECODE_BATCH and sum(model.calls) == 5000 * len(X)
    monkeypatch.setattr(likelihood, "DECODE_BATCH", 10**9)
    whole = likelihood.estimate(OneDimVAE(), X, k=5000, seed=1)
    torch.testing.assert_close(chunked.iwae, whole.iwae, rtol=0, atol=1e-9)
    torch.testing.assert_close(chunked.elbo, whole.elbo, rtol=0, atol=1e-9)
