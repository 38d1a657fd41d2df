"""The GAN recipe search: `python -m bench.gan_recipes [--train] [--epochs 30]`.

Each recipe is the lite DCGAN (explorer.gan.LiteGenerator, a spectrally normalised
discriminator, DiffAugment, an averaged generator) with one lever changed, trained on the
training digits while its validation Fréchet distance (1,000 samples against the 1,000
validation digits, on Reader A's features: ``--val-reader``) is logged every epoch. With
``--train`` the recipes missing from runs/gan_recipes/ are trained first (one thread each, about
an hour each for 30 epochs on a busy 2-core machine); without it the logs there are tabulated.
The bundled GAN's own run (runs/gan/, its 150-epoch recipe) is tabulated beside them when it is
there. Results go to bench/results/gan_recipes.json and print as the README's table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.common import ROOT, markdown_table, write_results

RUNS = ROOT / "runs" / "gan_recipes"
BASE = ["--arch", "lite", "--width", "64", "--no-test"]
RECIPES = {
    "base": ("the feasibility recipe: hinge loss, lr 2e-4 constant", []),
    "decay": ("learning rate decaying linearly to 0", ["--lr-schedule", "linear"]),
    "ttur": ("two time scales: G 1e-4, D 4e-4", ["--lr", "1e-4", "--lr-d", "4e-4"]),
    "bce_r1": (
        "non-saturating loss with an R1 penalty (γ = 1)",
        ["--gan-loss", "bce", "--r1", "1"],
    ),
}
STEPS = (500, 1000, 2000, 3000, 4000, 8000, 12000, 16000, 20000)


def train(name: str, epochs: int) -> None:
    """Train one recipe into runs/gan_recipes/<name>/ unless its log is complete."""
    if len(curve(RUNS / name / "metrics.jsonl")) >= epochs:
        return
    reader = ROOT / "checkpoints" / "classifier.safetensors"
    argv = [
        sys.executable,
        "-m",
        "explorer.train",
        "gan",
        *BASE,
        *RECIPES[name][1],
        "--epochs",
        str(epochs),
        "--val-reader",
        str(reader),
        "--out",
        str(RUNS / f"{name}.safetensors"),
        "--run-dir",
        str(RUNS / name),
        "--no-progress",
    ]
    subprocess.run(argv, check=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})


def curve(path) -> list[tuple[int, float]]:
    """(step, validation Fréchet distance) of every epoch a run's log holds."""
    points = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return points
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("type") == "epoch" and "val_frechet" in record:
            points.append((record["step"], record["val_frechet"]))
    return points


def at(points: list[tuple[int, float]], step: int) -> float | None:
    """The value at the last epoch at or before ``step`` (None before the first, or when the
    run stopped more than an epoch short of it)."""
    before = [(s, v) for s, v in points if s <= step]
    if not before or (points[-1][0] < step and step - points[-1][0] > 200):
        return None
    return before[-1][1]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.gan_recipes", description=__doc__)
    parser.add_argument("--train", action="store_true", help="train the missing recipes first")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per recipe (default 30)")
    args = parser.parse_args(argv)
    if args.train:
        for name in RECIPES:
            train(name, args.epochs)
    curves = {name: curve(RUNS / name / "metrics.jsonl") for name in RECIPES}
    curves["bundled"] = curve(ROOT / "runs" / "gan" / "metrics.jsonl")
    results = {"steps": list(STEPS), "curves": curves}
    write_results("gan_recipes.json", results)
    print(markdown(results))
    return results


def markdown(results: dict) -> str:
    labels = {name: words for name, (words, _) in RECIPES.items()}
    labels["bundled"] = "the bundled recipe: decay over 150 epochs"
    rows = []
    for name, points in results["curves"].items():
        if not points:
            continue
        values = [at([tuple(p) for p in points], step) for step in results["steps"]]
        rows.append([labels[name], *("–" if v is None else f"{v:.0f}" for v in values)])
    header = ["recipe (validation Fréchet distance, Reader A)", *map(str, results["steps"])]
    return markdown_table(header, rows)


if __name__ == "__main__":
    main()
