"""The bundled checkpoints load, reproduce their reported held-out numbers and stay small."""

import pytest
import torch

from explorer import checkpoints, data, objectives
from tests.conftest import BUNDLED

NAMES = ["ae", "vae", "ae2d", "vae2d", "gan", "classifier"]


def test_every_model_the_app_needs_is_bundled_and_small():
    found = checkpoints.discover(BUNDLED)
    assert sorted(found) == sorted(NAMES)
    assert sum(p.stat().st_size for p in found.values()) < 50 * 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_reported_held_out_metrics_reproduce(name):
    ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
    assert ckpt.meta["split"] == {"dataset": "mnist", "seed": 0, "test_size": 500}
    _, test = data.load_split(data.Split(**ckpt.meta["split"]))
    again = objectives.evaluate(ckpt.config.kind, ckpt.model, test.images, test.labels)
    for key, value in ckpt.meta["metrics"].items():
        if isinstance(value, float):
            assert again[key] == pytest.approx(value, rel=1e-3, abs=1e-4), key


def test_each_ae_vae_pair_differs_only_in_the_objective():
    # The AE-vs-VAE page and bench.smoothness compare these pairs; any other difference in the
    # recipe would make the comparison unfair.
    for ae_name, vae_name in (("ae", "vae"), ("ae2d", "vae2d")):
        ae, vae = (checkpoints.load(BUNDLED / f"{n}.safetensors") for n in (ae_name, vae_name))
        assert ae.config.kind == "ae" and vae.config.kind == "vae"
        recipe_ae, recipe_vae = ae.meta["train"], vae.meta["train"]
        for key in ("latent_dim", "width", "epochs", "batch_size", "lr", "dataset", "seed"):
            assert recipe_ae[key] == recipe_vae[key], (ae_name, key)
        assert ae.meta["split"] == vae.meta["split"]


def test_bundled_quality_floor():
    vae = checkpoints.load(BUNDLED / "vae.safetensors").meta["metrics"]
    assert vae["test_elbo"] > -120 and vae["active_dims"] >= 8
    assert (
        checkpoints.load(BUNDLED / "classifier.safetensors").meta["metrics"]["test_accuracy"]
        >= 0.97
    )
    gan = checkpoints.load(BUNDLED / "gan.safetensors").model
    with torch.no_grad():
        samples = gan.decode(gan.sample(256, torch.Generator().manual_seed(0)))
    # MNIST digits average about 0.13 ink per pixel; a collapsed generator gives ~0 or a gray blur.
    assert 0.05 < samples.mean().item() < 0.3
    assert (samples > 0.5).float().mean(dim=(1, 2, 3)).std().item() > 0.01  # samples differ
