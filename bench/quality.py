"""Quality benchmark: `python -m bench.quality` (over an hour on 2 CPU cores the first time; every
trained model is kept in runs/quality/ and reused, so a second run only re-scores).

A fair comparison of our convolutional VAE with the classic reference MLP VAE (784-400-20,
Bernoulli decoder: the PyTorch examples' vae/main.py), both trained by explorer.train on the same
4,000 training digits, with the same optimizer (Adam, 1e-3) and the same budget of optimizer
steps (that of the bundled VAE's recipe):

1. Selection, on the 500 validation digits only (training seed 0): each model is trained with
   each of its candidate batch sizes, the reference also with and without our recipe's
   augmentation, for the step budget; the candidate whose validation ELBO peaks highest wins,
   and the epoch of its peak becomes its epoch count.
2. Test: each winner is trained for training seeds 0, 1 and 2 and scored once on the 500 test
   digits: ELBO with 1,000 draws of z per digit (noise below 0.05 nats) and the IWAE bound
   L_1000 (Burda et al. 2016), train-set ELBO for the overfitting gap; mean and spread (min-max)
   over the seeds.

Also: the classifier's test accuracy, and Fréchet distances on the classifier's penultimate
features (Heusel et al. 2017) between the 500 test digits and 500 samples of the bundled DCGAN
(with `--gan-seeds`, of its recipe for 3 training seeds) and of the AE and VAE, with 500
training digits as the floor.
Results go to bench/results/quality.json and print as Markdown for the README.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from bench.common import ROOT, markdown_table, read_results, write_results
from explorer import checkpoints, data, likelihood, metrics, objectives, train

RUNS = ROOT / "runs" / "quality"
SEEDS = (0, 1, 2)
EVAL_K = 1000

OURS = {"arch": "conv", "latent_dim": 16, "width": 128}
REFERENCE = {"arch": "mlp", "latent_dim": 20, "width": 400}
PLAIN = {"shift": 0, "rotate": 0.0, "kl_warmup": 0, "lr_schedule": "constant"}


def recipe() -> dict:
    """Our training recipe (augmentation, warm-up, schedule) as the bundled VAE uses it."""
    defaults = train.DEFAULTS["vae"]
    return {key: defaults.get(key, value) for key, value in PLAIN.items()}


def candidates(ours_batches: list[int], ref_batches: list[int]) -> dict[str, list[dict]]:
    """Settings each model may pick on validation."""
    ours = [{**OURS, **recipe(), "batch_size": b} for b in ours_batches]
    reference = [
        {**REFERENCE, **aug, "batch_size": b} for b in ref_batches for aug in (PLAIN, recipe())
    ]
    return {"ours": ours, "reference": reference}


def steps_per_epoch(batch_size: int, n_train: int) -> int:
    return math.ceil(n_train / batch_size)


def run_name(settings: dict, seed: int, epochs: int, scored: bool) -> str:
    """The file a run is kept in; it names every setting that differs between runs."""
    aug = f"shift{settings['shift']}-rot{settings['rotate']:g}"
    sched = f"warm{settings['kl_warmup']}-{settings['lr_schedule']}"
    tail = "test" if scored else "val"
    return f"{settings['arch']}-b{settings['batch_size']}-{aug}-{sched}-s{seed}-e{epochs}-{tail}"


def _train(job: tuple[str, dict]) -> dict:
    """Train one run in a worker process (one thread each) unless it is already on disk. A
    test run whose selection twin (same settings, seed and epochs) exists is that model, scored:
    training is deterministic for a seed, so it is not trained twice."""
    name, kwargs = job
    out = RUNS / f"{name}.safetensors"
    if out.is_file():
        summary = checkpoints.read_tensors(out)[1]["summary"]
        # A run cut off mid-way has written its last good epoch: train it again, from the start.
        if _finished(summary, kwargs):
            return summary
    torch.set_num_threads(1)
    args = train.make_args(
        "vae",
        out=str(out),
        run_dir=str(RUNS / name),
        progress=False,
        write_resume=False,
        **kwargs,
    )
    twin = RUNS / f"{name.removesuffix('-test')}-val.safetensors"
    twin_done = twin.is_file() and _finished(
        checkpoints.read_tensors(twin)[1]["summary"], {**kwargs, "score_test": False}
    )
    if name.endswith("-test") and twin_done:
        return train.score(twin, out, args.eval_k)
    return train.run(args)


def _finished(summary: dict, kwargs: dict) -> bool:
    """Whether a kept run trained all its epochs (and, if it should be, was scored on test)."""
    scored = kwargs.get("score_test", True)
    return summary.get("epochs") == kwargs["epochs"] and (not scored or "metrics" in summary)


def train_all(jobs: list[tuple[str, dict]], workers: int) -> list[dict]:
    if workers <= 1:
        return [_train(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_train, jobs))


def select(settings: list[dict], budget: int, n_train: int, workers: int) -> dict:
    """The candidate with the best validation ELBO within the step budget, and its best epoch."""
    jobs = []
    for s in settings:
        epochs = max(1, round(budget / steps_per_epoch(s["batch_size"], n_train)))
        jobs.append((run_name(s, 0, epochs, False), {**s, "epochs": epochs, "score_test": False}))
    tried = []
    for s, summary in zip(settings, train_all(jobs, workers), strict=True):
        best = max(summary["history"], key=lambda r: r["val_elbo"])
        tried.append(
            {
                **s,
                "best_epoch": best["epoch"],
                "best_val_elbo": best["val_elbo"],
                "best_step": best["step"],
            }
        )
    return {"tried": tried, "chosen": max(tried, key=lambda t: t["best_val_elbo"])}


def score(chosen: dict, workers: int) -> dict:
    """Train the chosen settings for each seed and score it once on the test digits."""
    settings = {k: v for k, v in chosen.items() if not k.startswith("best_")}
    epochs = chosen["best_epoch"]
    jobs = [
        (
            run_name(settings, seed, epochs, True),
            {**settings, "epochs": epochs, "seed": seed, "split_seed": 0, "eval_k": EVAL_K},
        )
        for seed in SEEDS
    ]
    summaries = train_all(jobs, workers)
    train_set, _, _ = data.load_parts(data.Split(val_size=data.DEFAULT_VAL_SIZE))
    rows = []
    for (name, _), summary in zip(jobs, summaries, strict=True):
        model = checkpoints.load(RUNS / f"{name}.safetensors").model
        on_train = likelihood.estimate(model, train_set.images[:500], k=100, seed=1)
        m = summary["metrics"]
        rows.append(
            {
                "run": name,
                "steps": summary["history"][-1]["step"],
                "test_elbo": m["test_elbo"],
                "test_elbo_noise": m["test_elbo_noise"],
                "test_iwae": m["test_iwae"],
                "train_elbo": float(on_train.elbo.mean()),
            }
        )
    return {"settings": settings, "epochs": epochs, "runs": rows, **_spread(rows)}


def _spread(rows: list[dict]) -> dict:
    out = {}
    for key in ("test_elbo", "test_iwae", "train_elbo"):
        values = [r[key] for r in rows]
        out[key] = {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}
    gaps = [r["train_elbo"] - r["test_elbo"] for r in rows]
    out["overfit_gap"] = {"mean": statistics.fmean(gaps), "min": min(gaps), "max": max(gaps)}
    return out


def frechet_table(gan_paths: list[Path]) -> dict:
    """Fréchet distances to the 500 test digits on the bundled classifier's features."""
    train_set, _, test = data.load_parts(data.Split(val_size=data.DEFAULT_VAL_SIZE))
    clf = checkpoints.load(ROOT / "checkpoints" / "classifier.safetensors").model
    reference = metrics.classifier_features(clf, test.images)

    def distance(images: torch.Tensor) -> float:
        return metrics.frechet_distance(reference, metrics.classifier_features(clf, images))

    floor_rows = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))[:500]
    table: dict = {"train digits (floor)": distance(train_set.images[floor_rows])}
    gans = []
    for path in gan_paths:
        model = checkpoints.load(path).model
        with torch.no_grad():
            gans.append(distance(model.decode(model.sample(500, torch.Generator().manual_seed(1)))))
    table["gan samples, per seed"] = gans
    table["gan samples, mean"] = statistics.fmean(gans)
    for name in ("vae", "ae"):
        model = checkpoints.load(ROOT / "checkpoints" / f"{name}.safetensors").model
        with torch.no_grad():
            samples = model.decode(model.sample(500, torch.Generator().manual_seed(1)))
        table[f"{name} samples"] = distance(samples)
    return table


def gan_seeds(workers: int) -> list[Path]:
    """The bundled DCGAN (seed 0) and the same recipe for seeds 1 and 2, trained when missing."""
    bundled = ROOT / "checkpoints" / "gan.safetensors"
    recipe_ = checkpoints.read_tensors(bundled)[1]["summary"]["train"]
    keep = ("latent_dim", "width", "arch", "epochs", "batch_size", "lr", "val_size")
    jobs = []
    for seed in SEEDS[1:]:
        kwargs = {k: recipe_[k] for k in keep if k in recipe_}
        jobs.append((f"gan-s{seed}", {**kwargs, "seed": seed, "split_seed": 0}))
    with ProcessPoolExecutor(max(1, workers)) as pool:
        list(pool.map(_train_gan, jobs))
    return [bundled, *(RUNS / f"{name}.safetensors" for name, _ in jobs)]


def _train_gan(job: tuple[str, dict]) -> None:
    name, kwargs = job
    out = RUNS / f"{name}.safetensors"
    if out.is_file():
        return
    torch.set_num_threads(1)
    train.run(
        train.make_args(
            "gan",
            out=str(out),
            run_dir=str(RUNS / name),
            progress=False,
            write_resume=False,
            **kwargs,
        )
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ours-batches", default="32,64", help="our VAE's candidate batch sizes")
    parser.add_argument("--ref-batches", default="32,64,128", help="the reference's candidates")
    parser.add_argument("--workers", type=int, default=2, help="training processes at once")
    parser.add_argument(
        "--gan-seeds",
        action="store_true",
        help="also train the bundled GAN's recipe for seeds 1 and 2 (about 20 minutes each on "
        "2 cores) and report the Fréchet distance over the 3 seeds",
    )
    parser.add_argument(
        "--models", default="ours,reference", help="train and score only these (a partial run)"
    )
    parser.add_argument(
        "--frechet-only",
        action="store_true",
        help="re-measure only the Fréchet table, on the bundled models as they are now, and keep "
        "the rest of bench/results/quality.json (after the bundled models were retrained)",
    )
    args = parser.parse_args(argv)
    if args.frechet_only:
        return refresh_frechet(args.gan_seeds, args.workers)
    try:
        ours_b = [int(b) for b in args.ours_batches.split(",")]
        ref_b = [int(b) for b in args.ref_batches.split(",")]
    except ValueError:
        parser.error("batch sizes are comma-separated whole numbers, such as 32,64")
    if min(ours_b + ref_b) <= 0 or args.workers <= 0:
        parser.error("batch sizes and --workers must be positive")
    RUNS.mkdir(parents=True, exist_ok=True)
    n_train = len(data.load_parts(data.Split(val_size=data.DEFAULT_VAL_SIZE))[0])
    budget = train.DEFAULTS["vae"]["epochs"] * steps_per_epoch(
        train.DEFAULTS["vae"]["batch_size"], n_train
    )
    results: dict = {"step_budget": budget, "seeds": list(SEEDS), "eval_k": EVAL_K}
    for model, settings in candidates(ours_b, ref_b).items():
        if model not in args.models.split(","):
            continue
        chosen = select(settings, budget, n_train, args.workers)
        results[model] = {"selection": chosen["tried"], **score(chosen["chosen"], args.workers)}
    if "ours" not in results or "reference" not in results:
        print(json.dumps(results, indent=2))  # a partial run: trains and caches, writes nothing
        return results
    gain = [
        o["test_iwae"] - r["test_iwae"]
        for o, r in zip(results["ours"]["runs"], results["reference"]["runs"], strict=True)
    ]
    results["iwae_gain"] = {"mean": statistics.fmean(gain), "min": min(gain), "max": max(gain)}
    _, _, test = data.load_parts(data.Split(val_size=data.DEFAULT_VAL_SIZE))
    clf = checkpoints.load(ROOT / "checkpoints" / "classifier.safetensors")
    results["classifier_test_accuracy"] = objectives.evaluate(
        "classifier", clf.model, test.images, test.labels
    )["test_accuracy"]
    bundled_gan = [ROOT / "checkpoints" / "gan.safetensors"]
    results["frechet"] = frechet_table(gan_seeds(args.workers) if args.gan_seeds else bundled_gan)
    write_results("quality.json", results)
    print(markdown(results))
    return results


def refresh_frechet(seeds: bool, workers: int) -> dict:
    """Re-measure the Fréchet table of an earlier full run (bench/results/quality.json) on the
    bundled models as they are now; the VAE comparison, which trains its own models, is kept."""
    results = read_results("quality.json")
    bundled_gan = [ROOT / "checkpoints" / "gan.safetensors"]
    results["frechet"] = frechet_table(gan_seeds(workers) if seeds else bundled_gan)
    write_results("quality.json", results)
    print(markdown(results))
    return results


def _aug(s: dict) -> str:
    parts = []
    if s["shift"]:
        parts.append(f"shifts ≤ {s['shift']} px")
    if s["rotate"]:
        parts.append(f"rotations ≤ {s['rotate']:g}°")
    return ", ".join(parts) or "none"


def markdown(results: dict) -> str:
    """The README's tables: what each model tried on validation, then the test scores."""
    tried = []
    for model in ("ours", "reference"):
        chosen = results[model]["settings"]
        for t in results[model]["selection"]:
            won = all(t[k] == chosen[k] for k in chosen)
            peak = f"{t['best_epoch']} ({t['best_step']})"
            cells = [t["batch_size"], _aug(t), peak, f"{t['best_val_elbo']:.1f}"]
            tried.append([f"{model}{' (chosen)' if won else ''}", *cells])
    header = [
        "model",
        "batch",
        "augmentation",
        "epochs (steps) at the validation peak",
        "validation ELBO (1 draw)",
    ]
    lines = [markdown_table(header, tried), ""]
    names = {
        "test_iwae": "log-likelihood, IWAE L_1000 (nats)",
        "test_elbo": "ELBO (nats)",
        "train_elbo": "ELBO on 500 training digits",
        "overfit_gap": "train − test ELBO",
    }
    spread = [
        [label] + [_spread_cell(results[m][key]) for m in ("ours", "reference")]
        for key, label in names.items()
    ]
    header = [
        "test digits, 3 training seeds: mean [min, max]",
        "ours (conv, d = 16)",
        "reference (MLP, d = 20)",
    ]
    lines.append(markdown_table(header, spread))
    noise = max(r["test_elbo_noise"] for m in ("ours", "reference") for r in results[m]["runs"])
    g = results["iwae_gain"]
    lines += [
        "",
        f"IWAE gain, ours − reference, paired by seed: **{g['mean']:.1f}** nats "
        f"[{g['min']:.1f}, {g['max']:.1f}]; the largest Monte Carlo noise of a test ELBO was "
        f"{noise:.3f} nats. Classifier test accuracy: "
        f"**{100 * results['classifier_test_accuracy']:.1f} %**.",
    ]
    if "frechet" in results:
        lines += ["", frechet_markdown(results["frechet"])]
    return "\n".join(lines)


def _spread_cell(c: dict) -> str:
    return f"{c['mean']:.1f} [{c['min']:.1f}, {c['max']:.1f}]"


def frechet_markdown(f: dict) -> str:
    """The README's table of Fréchet distances (:func:`frechet_table`)."""
    gans = f["gan samples, per seed"]
    per_seed = ", ".join(f"{v:.0f}" for v in gans)
    rows = [
        ["500 training digits (the floor)", f"{f['train digits (floor)']:.1f}"],
        [f"DCGAN samples ({len(gans)} seed(s): {per_seed})", f"{f['gan samples, mean']:.1f}"],
        ["VAE samples (d = 16, z from N(0, I))", f"{f['vae samples']:.1f}"],
        ["AE samples (d = 16, z from the Gaussian fitted to its codes)", f"{f['ae samples']:.1f}"],
    ]
    header = ["Fréchet distance to the 500 test digits (classifier features)", "value"]
    return markdown_table(header, rows)


if __name__ == "__main__":
    main()
