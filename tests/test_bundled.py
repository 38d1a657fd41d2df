"""The bundled checkpoints load, reproduce their reported held-out numbers and stay small."""

import pytest
import torch

from explorer import checkpoints, data, likelihood, objectives
from tests.conftest import BUNDLED

NAMES = ["ae", "vae", "ae2d", "vae2d", "gan", "classifier"]


def _test_digits(ckpt) -> data.Digits:
    return data.load_parts(data.Split(**ckpt.meta["split"]))[2]


def test_every_model_the_app_needs_is_bundled_and_small():
    found = checkpoints.discover(BUNDLED)
    assert sorted(found) == sorted(NAMES)
    assert sum(p.stat().st_size for p in found.values()) < 50 * 1024 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_reported_held_out_metrics_reproduce(name):
    ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
    # Chosen on 500 validation digits carved from training; scored on the 500 test digits.
    split = {"dataset": "mnist", "seed": 0, "test_size": 500, "val_size": 500}
    assert ckpt.meta["split"] == split
    test = _test_digits(ckpt)
    again = objectives.evaluate(ckpt.config.kind, ckpt.model, test.images, test.labels)
    checked = [k for k, v in ckpt.meta["metrics"].items() if isinstance(v, float) and k in again]
    assert checked  # something was re-checked
    for key in checked:
        if ckpt.meta["metrics"].get(f"{key}_noise") is None:  # many-draw values: next test
            assert again[key] == pytest.approx(ckpt.meta["metrics"][key], rel=1e-3, abs=1e-4), key


@pytest.mark.parametrize("name", ["vae", "vae2d"])
def test_vae_likelihoods_are_many_draw_estimates_that_reproduce(name):
    ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
    metrics, found = ckpt.meta["metrics"], ckpt.meta["evaluation"]
    assert found["k"] == metrics["test_eval_k"] == 1000
    assert len(found["elbo"]) == len(found["iwae"]) == 500
    assert metrics["test_elbo"] == pytest.approx(sum(found["elbo"]) / 500, abs=1e-3)
    assert metrics["test_iwae"] == pytest.approx(sum(found["iwae"]) / 500, abs=1e-3)
    assert metrics["test_elbo_noise"] < 0.05 and metrics["test_iwae_noise"] < 0.05
    assert metrics["test_iwae"] > metrics["test_elbo"]  # L_1000 ≥ L_1 (here by nats)
    # Each digit has its own seed: a few digits reproduce their stored values exactly.
    test = _test_digits(ckpt)
    rows = [0, 137, 499]
    for row in rows:
        again = likelihood.estimate(
            ckpt.model, test.images[row : row + 1], found["k"], seed=found["seed"], first=row
        )
        assert again.elbo.item() == pytest.approx(found["elbo"][row], abs=2e-3)
        assert again.iwae.item() == pytest.approx(found["iwae"][row], abs=2e-3)


def test_each_ae_vae_pair_differs_only_in_the_objective():
    # The AE-vs-VAE page and bench.smoothness compare these pairs; any other difference in the
    # recipe would make the comparison unfair.
    keys = ("latent_dim", "width", "arch", "epochs", "batch_size", "lr", "dataset", "seed",
            "val_size", "shift", "rotate", "lr_schedule")  # fmt: skip
    for ae_name, vae_name in (("ae", "vae"), ("ae2d", "vae2d")):
        ae, vae = (checkpoints.load(BUNDLED / f"{n}.safetensors") for n in (ae_name, vae_name))
        assert ae.config.kind == "ae" and vae.config.kind == "vae"
        recipe_ae, recipe_vae = ae.meta["train"], vae.meta["train"]
        for key in keys:
            assert recipe_ae[key] == recipe_vae[key], (ae_name, key)
        assert ae.meta["split"] == vae.meta["split"]


def test_bundled_quality_floor():
    vae = checkpoints.load(BUNDLED / "vae.safetensors").meta["metrics"]
    assert vae["test_iwae"] > -110 and vae["active_dims"] >= 8
    classifier = checkpoints.load(BUNDLED / "classifier.safetensors").meta["metrics"]
    assert classifier["test_accuracy"] >= 0.98
    gan = checkpoints.load(BUNDLED / "gan.safetensors").model
    with torch.no_grad():
        samples = gan.decode(gan.sample(256, torch.Generator().manual_seed(0)))
    # MNIST digits average about 0.13 ink per pixel; a collapsed generator gives ~0 or a gray blur.
    assert 0.05 < samples.mean().item() < 0.3
    assert (samples > 0.5).float().mean(dim=(1, 2, 3)).std().item() > 0.01  # samples differ
