"""Quality: `python -m bench.quality [--ref-batches 64,128] [--workers 2]`.

1. The readers: each bundled reader's accuracy on the validation and the test digits.
2. Our convolutional VAE against the classic reference MLP VAE (784-400-20, Bernoulli decoder:
   the PyTorch examples' vae/main.py), both trained by explorer.train on the same training
   digits with Adam at 1e-3 and the same budget of optimizer steps (the bundled VAE's). Ours is
   the bundled recipe: the bundled VAE (training seed 0) and its replicates with seeds 1 and 2
   (runs/seeds/, ``checkpoints/train_seeds.sh``). The reference picks its batch size and
   augmentation on the validation digits only (the candidate whose validation ELBO peaks
   highest within the budget; the epoch of its peak becomes its epoch count), then is trained
   for seeds 0, 1 and 2. Each is scored once on the test digits: ELBO with 1,000 draws of z per
   digit and the IWAE bound L_1000 (Burda et al. 2016), and the train − test ELBO gap on 500
   training digits as they are (no augmentation). Reference runs are kept in runs/quality/ and
   reused, so a second run only re-scores.
3. Samples: the Fréchet distance (Heusel et al. 2017) and KID (Bińkowski et al. 2018) on each
   reader's features between 500 samples and the 500 test digits, and the share of samples each
   reader reads as a digit, for three sample seeds: the DCGAN, the AEs and VAEs (the AE's codes
   from its fitted Gaussian), and 500 training digits as the floor.
Results go to bench/results/quality.json and print as Markdown for the README
(:mod:`bench.quality_tables`).
"""

from __future__ import annotations

import argparse
import math
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from bench.common import ROOT, read_results, write_results
from bench.quality_tables import markdown
from explorer import checkpoints, compare, data, likelihood, metrics, objectives, train

RUNS = ROOT / "runs" / "quality"
SEED_DIR = ROOT / "runs" / "seeds"
SEEDS = (0, 1, 2)
EVAL_K = 1000
READERS = ("classifier", "classifier_mlp")
SAMPLED = ("gan", "vae", "ae", "vae2d", "ae2d")

REFERENCE = {"arch": "mlp", "latent_dim": 20, "width": 400}
PLAIN = {"shift": 0, "rotate": 0.0, "kl_warmup": 0, "lr_schedule": "constant"}


def bundled_split() -> data.Split:
    return data.Split.from_dict(_bundled("vae").meta["split"])


def _bundled(name: str) -> checkpoints.Checkpoint:
    return checkpoints.load(ROOT / "checkpoints" / f"{name}.safetensors")


def recipe() -> dict:
    """Our training recipe's augmentation, warm-up and schedule, as the bundled VAE has them."""
    trained = _bundled("vae").meta["train"]
    return {key: trained.get(key, value) for key, value in PLAIN.items()}


def candidates(ref_batches: list[int]) -> list[dict]:
    """The settings the reference may pick on validation: each batch, plain or with our
    recipe's augmentation."""
    return [
        {**REFERENCE, **aug, "batch_size": b, "dataset": bundled_split().dataset}
        for b in ref_batches
        for aug in (PLAIN, recipe())
    ]


def steps_per_epoch(batch_size: int, n_train: int) -> int:
    return math.ceil(n_train / batch_size)


def run_name(settings: dict, seed: int, epochs: int, scored: bool) -> str:
    """The file a run is kept in; it names every setting that differs between runs."""
    aug = f"shift{settings['shift']}-rot{settings['rotate']:g}"
    sched = f"warm{settings['kl_warmup']}-{settings['lr_schedule']}"
    tail = "test" if scored else "val"
    dataset = settings.get("dataset", "mnist")
    head = f"{dataset}-{settings['arch']}-b{settings['batch_size']}"
    return f"{head}-{aug}-{sched}-s{seed}-e{epochs}-{tail}"


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
    """Train the reference's chosen settings for each seed and score it once on the test
    digits."""
    settings = {k: v for k, v in chosen.items() if not k.startswith("best_")}
    epochs = chosen["best_epoch"]
    jobs = [
        (
            run_name(settings, seed, epochs, True),
            {**settings, "epochs": epochs, "seed": seed, "split_seed": 0, "eval_k": EVAL_K},
        )
        for seed in SEEDS
    ]
    train_all(jobs, workers)
    paths = [RUNS / f"{name}.safetensors" for name, _ in jobs]
    return {"settings": settings, "epochs": epochs, **scores(paths)}


def ours() -> dict:
    """The bundled VAE's recipe for seeds 0, 1 and 2, as trained (no training here)."""
    paths = [ROOT / "checkpoints" / "vae.safetensors"]
    paths += [SEED_DIR / f"vae-seed{seed}.safetensors" for seed in SEEDS[1:]]
    missing = [str(p.relative_to(ROOT)) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: train them with checkpoints/train_seeds.sh"
        )
    summary = _bundled("vae").meta
    return {
        "settings": {"batch_size": summary["train"]["batch_size"], **recipe()},
        "epochs": summary["epochs"],
        **scores(paths),
    }


def scores(paths: list[Path]) -> dict:
    """Each run's test numbers (as its checkpoint records them) and its ELBO on 500 random
    training digits as they are, and their mean and spread."""
    train_set, _, _ = data.load_parts(bundled_split())
    rows_500 = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))[:500]
    rows = []
    for path in paths:
        ckpt = checkpoints.load(path)
        on_train = likelihood.estimate(ckpt.model, train_set.images[rows_500], k=100, seed=1)
        m = ckpt.meta["metrics"]
        rows.append(
            {
                "run": path.stem,
                "steps": ckpt.meta["history"][-1]["step"],
                "test_elbo": m["test_elbo"],
                "test_elbo_noise": m["test_elbo_noise"],
                "test_iwae": m["test_iwae"],
                "train_elbo": float(on_train.elbo.mean()),
            }
        )
    return {"runs": rows, **_spread(rows)}


def _spread(rows: list[dict]) -> dict:
    out = {}
    for key in ("test_elbo", "test_iwae", "train_elbo"):
        values = [r[key] for r in rows]
        out[key] = {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}
    gaps = [r["train_elbo"] - r["test_elbo"] for r in rows]
    out["overfit_gap"] = {"mean": statistics.fmean(gaps), "min": min(gaps), "max": max(gaps)}
    return out


def readers() -> dict[str, checkpoints.Checkpoint]:
    return {
        n: _bundled(n) for n in READERS if (ROOT / "checkpoints" / f"{n}.safetensors").is_file()
    }


def reader_accuracy() -> dict:
    """Each reader's accuracy on the validation and the test digits of its own split."""
    out = {}
    for name, ckpt in readers().items():
        _, val, test = data.load_parts(data.Split.from_dict(ckpt.meta["split"]))
        out[name] = {
            part: objectives.evaluate("classifier", ckpt.model, d.images, d.labels)["test_accuracy"]
            for part, d in (("val", val), ("test", test))
        }
    return out


@torch.no_grad()
def samples_table(seeds: tuple[int, ...] = SEEDS) -> dict:
    """Per reader, per model: Fréchet distance, KID and the share read as a digit of 500
    samples (one value per sample seed) against the 500 test digits; the floor is 500 random
    training digits."""
    train_set, _, test = data.load_parts(bundled_split())
    floor_rows = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))[:500]
    models = {n: _bundled(n).model for n in SAMPLED}
    out: dict = {}
    for name, reader in readers().items():
        real = metrics.classifier_features(reader.model, test.images)

        def measure(images: torch.Tensor, reader=reader, real=real) -> dict:
            features = metrics.classifier_features(reader.model, images)
            kid = metrics.kernel_inception_distance(features, real, subsets=50).estimate()
            top = compare.probabilities(reader.model, images).max(1).values
            return {
                "frechet": metrics.frechet_distance(real, features),
                "kid": kid.value,
                "confident": float((top >= 0.9).double().mean()),
            }

        table = {"floor": [measure(train_set.images[floor_rows])]}
        for model_name, model in models.items():
            table[model_name] = [
                measure(model.decode(model.sample(500, torch.Generator().manual_seed(s))))
                for s in seeds
            ]
        out[name] = table
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--ref-batches", default="64,128", help="the reference's candidates")
    parser.add_argument("--workers", type=int, default=2, help="training processes at once")
    parser.add_argument(
        "--samples-only",
        action="store_true",
        help="re-measure only the samples table and the readers, on the bundled models as they "
        "are now, and keep the rest of bench/results/quality.json",
    )
    args = parser.parse_args(argv)
    if args.samples_only:
        results = read_results("quality.json")
        results.update(readers=reader_accuracy(), samples=samples_table())
        write_results("quality.json", results)
        print(markdown(results))
        return results
    try:
        ref_b = [int(b) for b in args.ref_batches.split(",")]
    except ValueError:
        parser.error("batch sizes are comma-separated whole numbers, such as 64,128")
    if min(ref_b) <= 0 or args.workers <= 0:
        parser.error("batch sizes and --workers must be positive")
    RUNS.mkdir(parents=True, exist_ok=True)
    n_train = len(data.load_parts(bundled_split())[0])
    budget = _bundled("vae").meta["history"][-1]["step"]
    results: dict = {"step_budget": budget, "seeds": list(SEEDS), "eval_k": EVAL_K}
    results["ours"] = ours()
    chosen = select(candidates(ref_b), budget, n_train, args.workers)
    results["reference"] = {"selection": chosen["tried"], **score(chosen["chosen"], args.workers)}
    gain = [
        o["test_iwae"] - r["test_iwae"]
        for o, r in zip(results["ours"]["runs"], results["reference"]["runs"], strict=True)
    ]
    results["iwae_gain"] = {"mean": statistics.fmean(gain), "min": min(gain), "max": max(gain)}
    results["readers"] = reader_accuracy()
    results["samples"] = samples_table()
    write_results("quality.json", results)
    print(markdown(results))
    return results


if __name__ == "__main__":
    main()
