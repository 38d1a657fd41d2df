"""AE vs VAE under a protocol: `python -m bench.smoothness [--protocol] [--sets N]`.

For each AE/VAE pair (d = 2: ae2d/vae2d; d = 16: ae/vae), every measure of
:mod:`explorer.protocol` (reader-free ones, and per reader ones for every bundled reader:
``classifier``, the CNN, and ``classifier_mlp``, the MLP, both chosen on real validation digits
only), on the pair's held-out digits:

- paths: 200 seeded random held-out pairs of different digits per set, 11 frames, linear;
- samples: 1,000 codes from N(0, I) per set, the same for both models; the AE also from the
  Gaussian fitted to its codes (a second comparison: VAE from N(0, I) against that).

Each combination (training seed × set × reader) gives a VAE − AE difference with a 95 %
interval, and each measure a verdict over all of them: robust, mixed or reversed
(:func:`explorer.protocol.verdict`). Without ``--protocol`` only the bundled models (training
seed 0) are measured; with it also training seeds 1 and 2 from runs/seeds/ (train them with
``checkpoints/train_seeds.sh``, about 20 minutes per model on one quiet core). The DCGAN's
samples are measured on the same sets. Results go to bench/results/smoothness.json (the page
and the lesson read them) and print as the README's tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import threadpoolctl
import torch

from bench.common import ROOT, markdown_table, write_results
from explorer import checkpoints, compare, data, metrics, morphometrics, protocol, smoothness, views

SEED_DIR = ROOT / "runs" / "seeds"
READERS = ("classifier", "classifier_mlp")
SETS = 10
SEEDS = (0, 1, 2)
RECIPE_KEYS = (
    "latent_dim", "width", "arch", "epochs", "batch_size", "lr", "beta", "val_size", "shift",
    "rotate", "kl_warmup", "lr_schedule", "dataset",
)  # fmt: skip


def checkpoint_path(name: str, seed: int) -> Path:
    """The bundled model for seed 0, a replicate in runs/seeds/ otherwise."""
    if seed == 0:
        return ROOT / "checkpoints" / f"{name}.safetensors"
    return SEED_DIR / f"{name}-seed{seed}.safetensors"


def replicate(name: str, seed: int) -> checkpoints.Checkpoint | None:
    """A finished replicate of the bundled ``name`` with another training seed, or None (with
    the reason printed) when it is missing, unfinished or not the bundled recipe."""
    path = checkpoint_path(name, seed)
    if not path.is_file():
        print(f"no {path.relative_to(ROOT)}: train it with checkpoints/train_seeds.sh")
        return None
    ckpt = checkpoints.load(path)
    bundled = checkpoints.load(checkpoint_path(name, 0)).meta["train"]
    train = ckpt.meta.get("train", {})
    if ckpt.meta.get("epochs") != train.get("epochs"):
        print(f"skipping {path.name}: trained {ckpt.meta.get('epochs')} epochs so far")
        return None
    stale = [k for k in RECIPE_KEYS if train.get(k) != bundled.get(k)]
    if stale:
        print(f"skipping {path.name}: not the bundled recipe ({', '.join(stale)} differ)")
        return None
    return ckpt


def measure_pair(pair: str, seeds: tuple[int, ...], readers: dict, sets: int) -> dict:
    """Every combination of one pair: the per-combination differences and each measure's
    verdict, and the bundled models' values on set 0 (what the page shows)."""
    ae_name, vae_name = compare.PAIRS[pair]
    split = data.Split.from_dict(checkpoints.load(checkpoint_path(vae_name, 0)).meta["split"])
    train, _, test = data.load_parts(split)
    labels = test.labels.numpy()
    combos: dict[str, dict[str, list]] = {"prior": {}, "fitted": {}}
    shown: dict = {}
    for seed in seeds:
        models = {kind: replicate(n, seed) for kind, n in (("ae", ae_name), ("vae", vae_name))}
        if any(m is None for m in models.values()):
            continue
        models = {kind: ckpt.model for kind, ckpt in models.items()}
        refs = {
            kind: protocol.reference(model, train.images, test.images, readers)
            for kind, model in models.items()
        }
        codes = {kind: views.encode(model, test.images) for kind, model in models.items()}
        for k in range(sets):
            found = measure_set(models, refs, codes, labels, readers, k)
            for comparison in ("prior", "fitted"):
                for key, diffs in found[comparison].items():
                    combos[comparison].setdefault(key, []).extend(
                        {"seed": seed, "set": k, **d} for d in diffs
                    )
            if seed == 0 and k == 0:
                shown = found["_shown"]
        print(f"{pair} seed {seed}: done", flush=True)
    return {"combinations": combos, "bundled": shown, "seeds": list(seeds)}


def measure_set(models: dict, refs: dict, codes: dict, labels, readers: dict, k: int) -> dict:
    """One set k for one seed: VAE − AE per measure and reader, paired where it can be."""
    pairs = smoothness.random_pairs(labels, protocol.N_PAIRS, seed=k)
    paths = {m: protocol.path_arrays(models[m], codes[m], pairs, readers) for m in models}
    d = models["vae"].latent_dim
    z = {
        "prior": compare.prior_codes(protocol.N_SAMPLES, d, k),
        "fitted": compare.fitted_codes(models["ae"], protocol.N_SAMPLES, k),
    }
    samples = {
        "ae": protocol.sample_arrays(models["ae"], z["prior"], readers, refs["ae"]),
        "ae_fitted": protocol.sample_arrays(models["ae"], z["fitted"], readers, refs["ae"]),
        "vae": protocol.sample_arrays(models["vae"], z["prior"], readers, refs["vae"]),
    }
    out: dict = {"prior": {}, "fitted": {}, "_shown": {"prior": {}, "fitted": {}}}
    for reader in (None, *readers):
        tag = reader or "none"
        path_values = {m: protocol.path_measures(paths[m], reader) for m in paths}
        sample_values = {
            m: protocol.sample_values(samples[m], reader, refs["vae" if m == "vae" else "ae"])
            for m in samples
        }
        for comparison, ae_key in (("prior", "ae"), ("fitted", "ae_fitted")):
            for measure in protocol.MEASURES:
                if measure.reader != (reader is not None):
                    continue
                if measure.on == "paths":
                    if comparison == "fitted":
                        continue
                    ae, vae = path_values["ae"][measure.key], path_values["vae"][measure.key]
                else:
                    ae, vae = sample_values[ae_key][measure.key], sample_values["vae"][measure.key]
                diff = protocol.difference(measure, ae, vae)
                row = {"reader": tag, **diff.to_dict()}
                out[comparison].setdefault(measure.key, []).append(row)
                out["_shown"][comparison].setdefault(measure.key, {})[tag] = {
                    "ae": protocol.estimate_of(ae).to_dict(),
                    "vae": protocol.estimate_of(vae).to_dict(),
                    "diff": diff.to_dict(),
                }
    return out


def verdicts(result: dict) -> dict:
    """Each measure's verdict and counts over its combinations."""
    out: dict = {}
    for comparison, rows in result["combinations"].items():
        for key, combos in rows.items():
            diffs = [
                protocol.Difference(c["value"], c["low"], c["high"], c["winner"]) for c in combos
            ]
            out.setdefault(comparison, {})[key] = {
                "verdict": protocol.verdict(diffs),
                "combinations": len(diffs),
                "vae_better": sum(d.winner == 1 for d in diffs),
                "ae_better": sum(d.winner == -1 for d in diffs),
            }
    return out


def measure_gan(readers: dict, sets: int, test) -> dict:
    """The DCGAN's samples on the same N(0, I) sets (no encoder: no prior coverage)."""
    ckpt = checkpoints.load(ROOT / "checkpoints" / "gan.safetensors")
    features = {n: metrics.classifier_features(r, test.images) for n, r in readers.items()}
    ref = protocol.Reference(None, None, morphometrics.measure(test.images), features)
    values: dict = {}
    for k in range(sets):
        z = compare.prior_codes(protocol.N_SAMPLES, ckpt.model.latent_dim, k)
        arrays = protocol.sample_arrays(ckpt.model, z, readers, ref)
        for reader in (None, *readers):
            for key, value in protocol.sample_values(arrays, reader, ref).items():
                est = protocol.estimate_of(value).to_dict()
                values.setdefault(key, {}).setdefault(reader or "none", []).append(est)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.smoothness", description=__doc__)
    parser.add_argument(
        "--protocol", action="store_true", help="also training seeds 1 and 2 (runs/seeds/)"
    )
    parser.add_argument("--sets", type=int, default=SETS, help="pair/sample sets (default 10)")
    args = parser.parse_args(argv)
    if not 1 <= args.sets <= 100:
        parser.error(f"--sets must lie between 1 and 100, got {args.sets}")
    torch.set_num_threads(2)
    threadpoolctl.threadpool_limits(1, "blas")
    began = time.perf_counter()
    found = [name for name in READERS if (ROOT / "checkpoints" / f"{name}.safetensors").is_file()]
    readers = {
        name: checkpoints.load(ROOT / "checkpoints" / f"{name}.safetensors").model for name in found
    }
    seeds = SEEDS if args.protocol else (0,)
    settings = {
        "pairs": protocol.N_PAIRS,
        "samples": protocol.N_SAMPLES,
        "sets": args.sets,
        "seeds": list(seeds),
        "readers": list(readers),
        "confident": smoothness.CONFIDENT,
    }
    bundled = [*compare.PAIRS["2d"], *compare.PAIRS["16d"], "gan", *readers]
    shas = {n: checkpoints.file_sha256(ROOT / "checkpoints" / f"{n}.safetensors") for n in bundled}
    results: dict = {"settings": settings, "checkpoints": shas}
    _, _, test = data.load_parts(
        data.Split.from_dict(checkpoints.load(checkpoint_path("vae", 0)).meta["split"])
    )
    for pair in compare.PAIRS:
        found = measure_pair(pair, seeds, readers, args.sets)
        results[pair] = {"verdicts": verdicts(found), **found}
    results["gan"] = measure_gan(readers, args.sets, test)
    results["seconds"] = round(time.perf_counter() - began, 1)
    write_results("smoothness.json", results)
    print(markdown(results))
    return 0


def _cell(est: dict, decimals: int) -> str:
    places = max(decimals, protocol.decimals_for(est["low"], est["high"]))
    return f"{est['value']:.{places}f} [{est['low']:.{places}f}, {est['high']:.{places}f}]"


def markdown(results: dict) -> str:
    """Per pair: each measure's verdict over every combination, and the bundled models' values
    on set 0 for each reader (the page's figures)."""
    lines = []
    for pair in compare.PAIRS:
        rows = []
        for comparison, title in (("prior", "N(0, I)"), ("fitted", "AE: fitted Gaussian")):
            for measure in protocol.MEASURES:
                verdict = results[pair]["verdicts"].get(comparison, {}).get(measure.key)
                if verdict is None:
                    continue
                shown = results[pair]["bundled"][comparison][measure.key]
                counts = (
                    f"**{verdict['verdict']}** ({verdict['vae_better']} VAE, "
                    f"{verdict['ae_better']} AE, of {verdict['combinations']})"
                )
                name = measure.label.replace("|", r"\|")  # "|Δ pixel|" inside a table cell
                name += f" ({title})" if measure.on == "samples" else ""
                for reader, values in shown.items():
                    ae, vae = (_cell(values[m], measure.decimals) for m in ("ae", "vae"))
                    rows.append([name, "–" if reader == "none" else reader, ae, vae, counts])
        header = ["measure", "reader", f"AE d={pair[:-1]}", f"VAE d={pair[:-1]}", "verdict"]
        lines += [f"\nd = {pair[:-1]}\n", markdown_table(header, rows)]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
