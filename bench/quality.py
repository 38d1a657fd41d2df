"""Quality benchmark: `python -m bench.quality` (about 6 minutes on 2 CPU cores).

In one run, on the bundled split (4,500 train / 500 test MNIST digits):
1. trains our convolutional VAE (d=16) and the classic reference MLP VAE (784-400-20, Bernoulli
   decoder, as in the PyTorch examples' vae/main.py) for the same epochs, and compares test ELBO;
2. times each epoch of both (median seconds, and the ratio conv / MLP measured side by side);
3. evaluates the bundled classifier's held-out accuracy;
4. computes Fréchet distances on the classifier's penultimate features (Heusel et al. 2017) between
   500 held-out digits and 500 samples of each bundled generator, with train-vs-test as the floor.
Results go to bench/results/quality.json and print as a Markdown table for README.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from explorer import checkpoints, data, losses, metrics, objectives, train

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


class MlpVAE(nn.Module):
    """The reference: 784-400-(20, 20) encoder, 20-400-784 Bernoulli decoder, ReLU."""

    def __init__(self, latent_dim: int = 20) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = (
            nn.Linear(784, 400),
            nn.Linear(400, latent_dim),
            nn.Linear(400, latent_dim),
        )
        self.fc3, self.fc4 = nn.Linear(latent_dim, 400), nn.Linear(400, 784)

    def forward(self, x: torch.Tensor):
        h = torch.relu(self.fc1(x.flatten(1)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.fc4(torch.relu(self.fc3(z))).view(-1, 1, 28, 28), mu, logvar


def train_mlp_vae(train_x, test_x, epochs: int, seed: int) -> tuple[float, list[float]]:
    """Test ELBO (nats) after ``epochs`` and seconds per epoch; batch 128, Adam 1e-3 as ours."""
    torch.manual_seed(seed)
    model = MlpVAE()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    shuffle = torch.Generator().manual_seed(seed)
    seconds = []
    for _ in range(epochs):
        began = time.perf_counter()
        for index in torch.randperm(len(train_x), generator=shuffle).split(128):
            x = train_x[index]
            logits, mu, logvar = model(x)
            loss = -(
                losses.bernoulli_log_likelihood(logits, x) - losses.kl_per_dim(mu, logvar).sum(1)
            ).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - began)
    torch.manual_seed(0)
    with torch.no_grad():
        logits, mu, logvar = model(test_x)
        elbo = losses.bernoulli_log_likelihood(logits, test_x) - losses.kl_per_dim(mu, logvar).sum(
            1
        )
    return float(elbo.mean()), seconds


def frechet_table(test_x: torch.Tensor, train_x: torch.Tensor) -> dict[str, float]:
    clf = checkpoints.load(ROOT / "checkpoints" / "classifier.safetensors").model
    reference = metrics.classifier_features(clf, test_x)
    gen = torch.Generator().manual_seed(0)
    floor_rows = torch.randperm(len(train_x), generator=gen)[: len(test_x)]
    table = {
        "train digits (floor)": metrics.frechet_distance(
            reference, metrics.classifier_features(clf, train_x[floor_rows])
        )
    }
    for name in ("gan", "vae", "ae"):
        path = ROOT / "checkpoints" / f"{name}.safetensors"
        if path.is_file():
            model = checkpoints.load(path).model
            with torch.no_grad():
                samples = model.decode(model.sample(len(test_x), torch.Generator().manual_seed(1)))
            table[f"{name} samples"] = metrics.frechet_distance(
                reference, metrics.classifier_features(clf, samples)
            )
    return table


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=train.DEFAULTS["vae"]["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs <= 0:
        parser.error("--epochs must be positive")
    torch.set_num_threads(2)
    train_set, test_set = data.load_split(data.Split("mnist", args.seed))

    with tempfile.TemporaryDirectory() as tmp:
        conv_args = train.make_args(
            "vae",
            epochs=args.epochs,
            seed=args.seed,
            progress=False,
            out=f"{tmp}/vae.safetensors",
            run_dir=f"{tmp}/run",
        )
        summary = train.run(conv_args)
    conv_seconds = [h["seconds"] for h in summary["history"]]
    conv_seconds = [b - a for a, b in zip([0.0, *conv_seconds[:-1]], conv_seconds, strict=True)]
    mlp_elbo, mlp_seconds = train_mlp_vae(train_set.images, test_set.images, args.epochs, args.seed)

    clf = checkpoints.load(ROOT / "checkpoints" / "classifier.safetensors")
    accuracy = objectives.evaluate("classifier", clf.model, test_set.images, test_set.labels)[
        "test_accuracy"
    ]
    results = {
        "machine": f"{torch.get_num_threads()} torch threads, CPU, torch {torch.__version__}",
        "epochs": args.epochs,
        "conv_vae_test_elbo": summary["metrics"]["test_elbo"],
        "mlp_vae_test_elbo": mlp_elbo,
        "elbo_gain_nats": summary["metrics"]["test_elbo"] - mlp_elbo,
        "conv_vae_epoch_s_median": statistics.median(conv_seconds),
        "mlp_vae_epoch_s_median": statistics.median(mlp_seconds),
        "classifier_test_accuracy": accuracy,
        "frechet": frechet_table(test_set.images, train_set.images),
    }
    results["epoch_time_ratio_conv_over_mlp"] = (
        results["conv_vae_epoch_s_median"] / results["mlp_vae_epoch_s_median"]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for key, value in results.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                print(f"| Fréchet distance, {sub} | {v:.2f} |")
        elif isinstance(value, float):
            print(f"| {key} | {value:.4g} |")
    return results


if __name__ == "__main__":
    main()
