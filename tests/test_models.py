"""Model shapes, the shared encode/decode/sample interface and rebuilding from config."""

import pytest
import torch

from explorer.models import AutoEncoder, ModelConfig, build


@pytest.mark.parametrize("kind,d", [("ae", 16), ("vae", 2), ("gan", 100)])
def test_latent_models_share_one_interface(kind, d):
    model = build(ModelConfig(kind, d, 32)).eval()
    z = model.sample(5, torch.Generator().manual_seed(0))
    assert z.shape == (5, d) and model.latent_dim == d
    images = model.decode(z)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    if model.has_encoder:
        assert model.encode(torch.rand(3, 1, 28, 28)).shape == (3, d)
    else:
        with pytest.raises(NotImplementedError, match="no encoder"):
            model.encode(torch.rand(3, 1, 28, 28))


def test_sampling_is_reproducible_from_a_generator():
    model = build(ModelConfig("vae", 8))
    a = model.sample(4, torch.Generator().manual_seed(7))
    b = model.sample(4, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_vae_reparameterization_has_the_posterior_moments():
    mu, logvar = torch.full((20000, 1), 1.5), torch.full((20000, 1), -2.0)
    z = build(ModelConfig("vae", 1)).reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert z.mean().item() == pytest.approx(1.5, abs=0.01)
    assert z.std().item() == pytest.approx(torch.exp(torch.tensor(-1.0)).item(), rel=0.02)


def test_ae_code_statistics_set_ranges_and_sampling():
    ae = AutoEncoder(ModelConfig("ae", 3))
    codes = (
        torch.randn(1000, 3, generator=torch.Generator().manual_seed(0))
        * torch.tensor([1.0, 2.0, 5.0])
        + 4
    )
    ae.set_code_statistics(codes)
    assert ae.code_mean.tolist() == pytest.approx(codes.mean(0).tolist())
    assert ae.code_low[2].item() == pytest.approx(torch.quantile(codes[:, 2], 0.01).item())
    samples = ae.sample(5000, torch.Generator().manual_seed(1))
    assert samples.std(0)[2].item() == pytest.approx(5.0, rel=0.1)


def test_classifier_features_and_logits():
    clf = build(ModelConfig("classifier", 0, 64)).eval()
    x = torch.rand(2, 1, 28, 28)
    assert clf.features(x).shape == (2, 64) and clf(x).shape == (2, 10)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="latent dim must be at least 1"):
        ModelConfig("vae", 0)
    with pytest.raises(ValueError, match="unknown model kind 'flow'"):
        ModelConfig("flow", 4)
