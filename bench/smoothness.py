"""Smoothness benchmark: `python -m bench.smoothness` (about 2 minutes on 2 CPU cores).

For each AE/VAE pair (d = 2: ae2d/vae2d; d = 16: ae/vae) and the DCGAN where a measure applies,
on the bundled split's 500 held-out digits (see explorer/smoothness.py for the definitions):
1. perceptual path length (Karras et al. 2019) on the classifier's penultimate features, ε = 1e-4,
   mean and robust mean (1st-99th percentile): along lerp paths between held-out pairs' codes,
   and along slerp paths between N(0, I) samples (the AE also between samples of the Gaussian
   fitted to its codes);
2. along the lerp paths between the same 200 held-out pairs of different digits (11 frames):
   lowest confidence and share of frames read with confidence ≥ 0.9 (frames between the
   endpoints), and the largest jump between frames;
3. 1,000 samples from N(0, I) (AE: also its fitted Gaussian): share read with confidence ≥ 0.9,
   mean classifier entropy, the entropy of the digits read (diversity); 500 of them for the
   Fréchet distance to the 500 held-out digits.
Every figure has a 95 % percentile-bootstrap interval; VAE − AE differences are bootstrapped
per pair (or per shared code). With `--seeds`, the d = 2 pair is also measured for training
seeds 1 and 2 (same split), trained first when missing: about 3 minutes per model on 2 quiet cores.
Results go to bench/results/smoothness.json and print as Markdown for the README.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import threadpoolctl
import torch

from bench.common import ROOT, markdown_table, write_results
from explorer import checkpoints, compare, data, metrics, smoothness, train, views

SEED_DIR = ROOT / "runs" / "seeds"
PPL_SAMPLES = 500
N_PAIRS = 200
N_SAMPLES = 1000


def load(name: str) -> checkpoints.Checkpoint:
    return checkpoints.load(ROOT / "checkpoints" / f"{name}.safetensors")


def path_length(model, clf64, a: torch.Tensor, b: torch.Tensor, mode: str) -> dict:
    """Path length samples in float64 (ε = 1e-4 is below float32's comfort), summarised."""
    model64 = copy.deepcopy(model).double()
    values = smoothness.path_lengths(
        model64.decode,
        clf64.features,
        a.double(),
        b.double(),
        mode,
        generator=torch.Generator().manual_seed(0),
    )
    return {
        "mean": smoothness.bootstrap(values).to_dict(),
        "robust_mean": smoothness.bootstrap(values, smoothness.robust_mean, n_boot=500).to_dict(),
    }


def data_pairs(labels: np.ndarray, n: int) -> np.ndarray:
    return smoothness.random_pairs(labels, n, seed=0)


def measure_model(model, clf, clf64, test, codes, pairs, reference_features) -> dict:
    """Every measure of one AE or VAE (or GAN, without the data paths)."""
    out: dict = {}
    d = model.latent_dim
    ppl_pairs = data_pairs(test.labels.numpy(), PPL_SAMPLES)
    if codes is not None:
        a, b = codes[ppl_pairs[:, 0]], codes[ppl_pairs[:, 1]]
        out["ppl_data_lerp"] = path_length(model, clf64, a, b, "linear")
        study = compare.pair_study(model, clf, codes, pairs)
        out["_study"] = study
        for name, values in study.measures.as_dict().items():
            out[f"path_{name}"] = smoothness.bootstrap(values).to_dict()
    sources = {"prior": compare.prior_codes(2 * PPL_SAMPLES, d, 1)}
    if model.config.kind == "ae":
        sources["fitted"] = compare.fitted_codes(model, 2 * PPL_SAMPLES, 1)
    for source, z in sources.items():
        out[f"ppl_{source}_slerp"] = path_length(
            model, clf64, z[:PPL_SAMPLES], z[PPL_SAMPLES:], "spherical"
        )
        codes_n = (
            compare.prior_codes(N_SAMPLES, d, 0)
            if source == "prior"
            else compare.fitted_codes(model, N_SAMPLES, 0)
        )
        report = compare.sample_report(model, clf, codes_n)
        out[f"_samples_{source}"] = report
        out[f"samples_{source}_confident"] = report.share().to_dict()
        out[f"samples_{source}_entropy"] = report.mean_entropy().to_dict()
        out[f"samples_{source}_diversity"] = report.diversity().to_dict()
        features = metrics.classifier_features(clf, report.images[:500])
        out[f"samples_{source}_frechet"] = smoothness.bootstrap(
            features, lambda f: metrics.frechet_distance(f, reference_features), n_boot=200
        ).to_dict()
    return out


def differences(ae: dict, vae: dict) -> dict:
    """VAE − AE, bootstrapped per pair or per shared code, with a verdict."""
    out = {}
    paired = {
        f"path_{k}": (ae["_study"].measures.as_dict()[k], vae["_study"].measures.as_dict()[k])
        for k in smoothness.PathMeasures.NAMES
    }
    paired["samples_prior_confident"] = (
        ae["_samples_prior"].confident,
        vae["_samples_prior"].confident,
    )
    paired["samples_prior_entropy"] = (ae["_samples_prior"].entropy, vae["_samples_prior"].entropy)
    for key, (a, v) in paired.items():
        est = smoothness.bootstrap(v - a)
        out[key] = {**est.to_dict(), "separates": est.excludes(0.0)}
    for key in (
        "ppl_data_lerp",
        "ppl_prior_slerp",
        "samples_prior_frechet",
        "samples_prior_diversity",
    ):
        a, v = ae[key], vae[key]
        a, v = (a["mean"], v["mean"]) if "mean" in a else (a, v)
        separated = a["high"] < v["low"] or v["high"] < a["low"]
        out[key] = {"value": v["value"] - a["value"], "separates": separated}
    return out


def seed_checkpoint(kind: str, seed: int, allow_training: bool) -> Path | None:
    path = SEED_DIR / f"{kind}2d-seed{seed}.safetensors"
    if not path.is_file() and allow_training:
        args = train.make_args(
            kind,
            latent_dim=2,
            seed=seed,
            split_seed=0,
            out=str(path),
            run_dir=str(SEED_DIR / f"{kind}2d-seed{seed}"),
            progress=False,
        )
        train.run(args)
    if not path.is_file():
        return None
    summary = checkpoints.read_tensors(path)[1].get("summary", {})
    if summary.get("epochs") != summary.get("train", {}).get("epochs"):
        print(f"skipping {path.name}: trained {summary.get('epochs')} of its epochs so far")
        return None
    bundled = checkpoints.read_tensors(ROOT / "checkpoints" / f"{kind}2d.safetensors")[1]
    stale = [
        k for k in RECIPE_KEYS if summary["train"].get(k) != bundled["summary"]["train"].get(k)
    ]
    if stale:
        print(
            f"skipping {path.name}: not the bundled recipe ({', '.join(stale)} differ); "
            "delete it to retrain"
        )
        return None
    return path


# What makes a seed replicate the bundled model's recipe (everything but the seed).
RECIPE_KEYS = (
    "latent_dim",
    "width",
    "arch",
    "epochs",
    "batch_size",
    "lr",
    "beta",
    "val_size",
    "shift",
    "rotate",
    "kl_warmup",
    "lr_schedule",
)


def public(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.smoothness", description=__doc__)
    parser.add_argument(
        "--seeds",
        action="store_true",
        help="also measure the d = 2 pair for training seeds 1 and 2",
    )
    parser.add_argument(
        "--train-seeds",
        action="store_true",
        help="train the missing seed replicates first (about 12 minutes)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    # One BLAS thread: numpy's 128 × 128 eigen-decompositions (the Fréchet distance, 200 times
    # per bootstrap) ran 20 times slower with OpenBLAS threads spinning against torch's.
    threadpoolctl.threadpool_limits(1, "blas")
    began = time.perf_counter()
    clf = load("classifier").model
    clf64 = copy.deepcopy(clf).double()
    _, test = data.load_split(data.Split())
    reference = metrics.classifier_features(clf, test.images)
    pairs = data_pairs(test.labels.numpy(), N_PAIRS)
    results: dict = {
        "settings": {
            "ppl_samples": PPL_SAMPLES,
            "pairs": N_PAIRS,
            "samples": N_SAMPLES,
            "epsilon": smoothness.EPSILON,
            "confident": smoothness.CONFIDENT,
        }
    }
    for pair, (ae_name, vae_name) in compare.PAIRS.items():
        measured = {}
        for name in (ae_name, vae_name):
            model = load(name).model
            codes = views.encode(model, test.images)
            measured[name] = measure_model(model, clf, clf64, test, codes, pairs, reference)
            print(f"{name}: {time.perf_counter() - began:.0f} s", flush=True)
        results[pair] = {
            "ae": public(measured[ae_name]),
            "vae": public(measured[vae_name]),
            "vae_minus_ae": differences(measured[ae_name], measured[vae_name]),
        }
    gan = load("gan").model
    results["gan"] = public(measure_model(gan, clf, clf64, test, None, pairs, reference))
    if args.seeds or args.train_seeds:
        results["2d_seeds"] = seed_study(clf, clf64, test, pairs, reference, args.train_seeds)
    results["seconds"] = round(time.perf_counter() - began, 1)
    write_results("smoothness.json", results)
    print(markdown(results))
    return 0


def seed_study(clf, clf64, test, pairs, reference, allow_training: bool) -> dict:
    """The d = 2 pair's measures for training seeds 0 (bundled), 1 and 2: per seed and the
    spread across seeds (min, max)."""
    per_seed: dict[str, list] = {"ae": [], "vae": []}
    for seed in (0, 1, 2):
        for kind in ("ae", "vae"):
            path = (
                ROOT / "checkpoints" / f"{kind}2d.safetensors"
                if seed == 0
                else seed_checkpoint(kind, seed, allow_training)
            )
            if path is None:
                continue
            model = checkpoints.load(path).model
            codes = views.encode(model, test.images)
            result = measure_model(model, clf, clf64, test, codes, pairs, reference)
            per_seed[kind].append({"seed": seed, **public(result)})
    return per_seed


def _fmt(est: dict, digits: int = 2) -> str:
    return f"{est['value']:.{digits}f} [{est['low']:.{digits}f}, {est['high']:.{digits}f}]"


ROWS = [
    ("path length, lerp between held-out codes (robust mean)", "ppl_data_lerp", "robust_mean", 0),
    (
        "path length, slerp between N(0, I) samples (robust mean)",
        "ppl_prior_slerp",
        "robust_mean",
        0,
    ),
    ("lowest confidence between a and b", "path_lowest_confidence", None, 2),
    ("share of frames between a and b read as a digit", "path_confident_share", None, 2),
    ("largest jump between frames (mean |Δ pixel|)", "path_largest_jump", None, 3),
    ("N(0, I) samples read as a digit", "samples_prior_confident", None, 2),
    ("N(0, I) samples: mean classifier entropy (nats)", "samples_prior_entropy", None, 2),
    ("N(0, I) samples: digit diversity (nats, ln 10 = 2.30)", "samples_prior_diversity", None, 2),
    ("N(0, I) samples: Fréchet distance", "samples_prior_frechet", None, 0),
]


def markdown(results: dict) -> str:
    """The README's table of every measure, both pairs and the DCGAN, then the AEs' figures from
    their fitted Gaussians (and the table over training seeds, where measured)."""
    rows = []
    for title, key, sub, digits in ROWS:
        cells = [title]
        for pair in ("2d", "16d"):
            for model in ("ae", "vae"):
                est = results[pair][model][key]
                cells.append(_fmt(est[sub] if sub else est, digits))
            cells.append("yes" if results[pair]["vae_minus_ae"][key]["separates"] else "no")
        gan = results["gan"].get(key)
        cells.append(_fmt(gan[sub] if sub else gan, digits) if gan else "–")
        rows.append(cells)
    header = "measure | AE d=2 | VAE d=2 | separates? | AE d=16 | VAE d=16 | separates? | DCGAN"
    lines = [markdown_table(header.split(" | "), rows)]
    for pair in ("2d", "16d"):
        ae = results[pair]["ae"]
        lines.append(
            f"\nAE d={pair[:-1]} from its fitted Gaussian: read as a digit "
            f"{_fmt(ae['samples_fitted_confident'])}, "
            f"entropy {_fmt(ae['samples_fitted_entropy'])}, "
            f"Fréchet {_fmt(ae['samples_fitted_frechet'], 0)}, path length (robust) "
            f"{_fmt(ae['ppl_fitted_slerp']['robust_mean'], 0)}."
        )
    if "2d_seeds" in results:
        lines += ["", seed_markdown(results["2d_seeds"])]
    return "\n".join(lines)


def seed_markdown(per_seed: dict) -> str:
    """The d = 2 pair over training seeds: each seed's value, and whether every VAE seed's
    interval lies apart from every AE seed's, on the same side."""
    seeds = {kind: ", ".join(str(r["seed"]) for r in per_seed[kind]) for kind in ("ae", "vae")}
    rows = []
    for title, key, sub, digits in ROWS:
        ests = {
            kind: [(r[key][sub] if sub else r[key]) for r in per_seed[kind]]
            for kind in ("ae", "vae")
        }
        above = all(v["low"] > a["high"] for v in ests["vae"] for a in ests["ae"])
        below = all(v["high"] < a["low"] for v in ests["vae"] for a in ests["ae"])
        cells = [
            ", ".join(f"{e['value']:.{digits}f}" for e in ests[kind]) for kind in ("ae", "vae")
        ]
        verdict = "yes, VAE higher" if above else "yes, VAE lower" if below else "no"
        rows.append([title, *cells, verdict])
    header = [
        "measure (d = 2)",
        f"AE, seeds {seeds['ae']}",
        f"VAE, seeds {seeds['vae']}",
        "apart in every seed?",
    ]
    return markdown_table(header, rows)


if __name__ == "__main__":
    raise SystemExit(main())
