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


def test_the_reference_mlp_vae_is_784_400_20():
    ref = build(ModelConfig("vae", 20, 400, "mlp"))
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert shapes["encoder.net.1.weight"] == (400, 784) and shapes["to_mu.weight"] == (20, 400)
    assert shapes["decoder.net.0.weight"] == (400, 20) and shapes["decoder.net.2.weight"] == (
        784,
        400,
    )
    assert sum(v.numel() for v in ref.parameters()) == 784 * 400 + 400 + 2 * (400 * 20 + 20) + (
        20 * 400 + 400
    ) + (400 * 784 + 784)
    assert ref.decode(torch.zeros(2, 20)).shape == (2, 1, 28, 28)
    assert "arch" not in ModelConfig("vae").to_dict()  # older checkpoints still match
    assert ModelConfig("vae", 20, 400, "mlp").to_dict()["arch"] == "mlp"


def test_arches_belong_to_their_kinds():
    with pytest.raises(ValueError, match="arch 'mlp' is not one for a gan: choose conv or sn"):
        ModelConfig("gan", 100, 64, "mlp")
    with pytest.raises(ValueError, match="arch 'sn' is not one for a vae: choose conv or mlp"):
        ModelConfig("vae", 16, 128, "sn")


def test_spectral_gan_decodes_with_its_moving_average():
    gan = build(ModelConfig("gan", 8, 8, "sn")).eval()
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(gan.decode(z), gan.generator(z).sigmoid())  # starts as a copy
    with torch.no_grad():
        for p in gan.generator.parameters():
            p.add_(1.0)
    gan.ema_updates.fill_(1000)  # past the warm-up: the decay is the one asked for
    before = [p.clone() for p in gan.generator_ema.parameters()]
    gan.update_ema(0.9)
    pairs = zip(gan.generator_ema.parameters(), before, gan.generator.parameters(), strict=True)
    for avg, old, live in pairs:
        torch.testing.assert_close(avg, 0.9 * old + 0.1 * live)
    torch.testing.assert_close(gan.decode(z), gan.generator_ema(z).sigmoid())
    gan.ema_updates.zero_()  # the first update keeps only 1/10 of the average
    gan.update_ema(0.999)
    for avg, live in zip(gan.generator_ema.parameters(), gan.generator.parameters(), strict=True):
        assert not torch.equal(avg, live)
    assert int(gan.ema_updates) == 1
    # Each discriminator layer is spectrally normalised: its largest singular value is 1.
    gan.train()
    x = torch.rand(4, 1, 28, 28)
    for _ in range(30):  # power iterations converge while D runs in training mode
        gan.discriminator(x)
    linear = gan.discriminator.net[-1]
    assert torch.linalg.matrix_norm(linear.weight, ord=2).item() == pytest.approx(1.0, abs=0.02)
