"""Attribute benchmark: `python -m bench.attributes` (a few minutes on 2 CPU cores).

Which model organises its latent space by properties a person can name? For every bundled AE,
VAE and GAN and each of Morpho-MNIST's six attributes (explorer/attributes.py has the probe, the
direction and its unit, one SD of the model's training codes along it):

1. **Linear decodability**: the ridge probe's R² on the model's test digits (the GAN: on 500 of
   its samples), with a bootstrap interval over them.
2. **Controllability**, over 200 digits (encoder models: 200 seeded test digits, encoded; the
   GAN: 200 samples), each moved by t ∈ REQUESTS units along the direction and compared with the
   decode of its unmoved code (so reconstruction error does not count): the *achieved change per
   unit* (each digit's least-squares slope of the measured change on t, through 0, averaged), and
   how well it *follows the request* (the requested change is the probe's prediction, t ×
   per_unit): the slope and R² of achieved on requested, pooled over digits and t.
3. **Side effects**: each of the other five attributes' change per unit (the same slope), and
   their mean size in SDs of the real digits' attribute per unit; the share of edits that keep
   each reader's class (every bundled ``classifier*`` checkpoint) of the unmoved decode.

Every interval is a 95 % percentile bootstrap over the digits (explorer/smoothness.py). A model
*wins* an attribute on a measure when its interval lies wholly above every other model's.
Results go to bench/results/attributes.json (read by the Latent sliders page and the lesson) and
print as the README's Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import threadpoolctl
import torch

from bench.common import ROOT, machine, markdown_table, write_results
from explorer import attributes, checkpoints, data, metrics, smoothness, views

NAMES = attributes.NAMES
REQUESTS = (-2.0, -1.0, 1.0, 2.0)  # units (code SDs) along a direction
N_DIGITS = 200
RESULTS = "attributes.json"
CHECKPOINTS = ROOT / "checkpoints"
CACHE = CHECKPOINTS / ".cache"  # where the app keeps its fitted directions too


# ---- Statistics of edits (pure functions) -------------------------------------------------------


def gains(t: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Each digit's slope through 0 of its change ``delta`` (n, T) on ``t`` (T,): Σ tΔ / Σ t²
    over its edits with a stroke (NaN where none has)."""
    ok = np.isfinite(delta)
    tt = np.broadcast_to(t, delta.shape)
    num = np.where(ok, tt * np.nan_to_num(delta), 0.0).sum(1)
    den = np.where(ok, tt**2, 0.0).sum(1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def follow(requested: np.ndarray, achieved: np.ndarray) -> tuple[float, float]:
    """(slope, R²) of the least-squares line of ``achieved`` on ``requested``, pooled over
    every finite pair: 1 and 1 when every edit delivers exactly what was asked."""
    x, y = np.ravel(requested), np.ravel(achieved)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    sxx, syy = float(x @ x), float(y @ y)
    if sxx == 0 or syy == 0:
        return float("nan"), float("nan")
    sxy = float(x @ y)
    return sxy / sxx, sxy**2 / (sxx * syy)


def _mean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def summarise(
    t: np.ndarray,
    per_unit: float,
    deltas: np.ndarray,
    kept: dict[str, np.ndarray],
    target: int,
    real_sd: np.ndarray,
    n_boot: int = 1000,
) -> dict:
    """Every figure of one attribute's edits: ``t`` (T,) the units moved, ``per_unit`` the
    probe's predicted change per unit (so t × per_unit is the request), ``deltas`` (n, T, 6) the
    measured changes of all six attributes, ``kept[reader]`` (n, T) whether the reader's class
    stayed, ``real_sd`` (6,) the real digits' spread."""
    slopes = np.stack([gains(t, deltas[:, :, j]) for j in range(len(NAMES))], axis=1)  # (n, 6)
    own = slopes[:, target]
    others = [j for j in range(len(NAMES)) if j != target]
    requested = np.broadcast_to(t * per_unit, deltas.shape[:2])
    pairs = np.stack([requested, deltas[:, :, target]], axis=-1)

    def boot(values, statistic=_mean):
        return smoothness.bootstrap(values, statistic, n_boot=n_boot).to_dict()

    return {
        "gain": boot(own),
        "gain_sd": _mean(own) / real_sd[target],
        "slope": boot(pairs, lambda p: follow(p[..., 0], p[..., 1])[0]),
        "follow_r2": boot(pairs, lambda p: follow(p[..., 0], p[..., 1])[1]),
        "side": {NAMES[j]: boot(slopes[:, j]) for j in others},
        "side_sd": boot(
            slopes[:, others],
            lambda s: float(np.mean(np.abs(np.nanmean(s, 0)) / real_sd[others])),
        ),
        "kept": {name: boot(k.mean(1).astype(np.float64)) for name, k in kept.items()},
        "no_stroke": float(np.mean(~np.isfinite(deltas[:, :, target]))),
    }


def winners(models: dict[str, dict], measure: str) -> dict[str, str | None]:
    """Per attribute, the model whose ``measure`` interval lies wholly above every other
    model's, else None. ``measure`` is a key of an attribute's results, or ``kept:<reader>``."""
    out = {}
    for attribute in NAMES:
        found = {}
        for name, model in models.items():
            entry = model["attributes"][attribute]
            key, _, reader = measure.partition(":")
            found[name] = entry[key][reader] if reader else entry[key]
        best = max(found, key=lambda n: found[n]["value"])
        others = [e["high"] for n, e in found.items() if n != best]
        out[attribute] = best if others and found[best]["low"] > max(others) else None
    return out


# ---- Running the models -------------------------------------------------------------------------


def readers() -> dict[str, checkpoints.Checkpoint]:
    """Every bundled reader (checkpoints named ``classifier*``), by name."""
    found = checkpoints.discover(CHECKPOINTS)
    return {
        name: checkpoints.load(path, kind="classifier")
        for name, path in found.items()
        if name.startswith(attributes.READER_PREFIX)
    }


def model_label(ckpt: checkpoints.Checkpoint) -> str:
    """ "VAE (d=16)", "DCGAN (z=100)", as the app names its models."""
    if ckpt.config.kind == "gan":
        return f"DCGAN (z={ckpt.config.latent_dim})"
    return f"{ckpt.config.kind.upper()} (d={ckpt.config.latent_dim})"


def reader_labels(found: dict[str, checkpoints.Checkpoint]) -> dict[str, str]:
    """ "Reader A: CNN", "Reader B: MLP", … in the order of their names."""
    return {
        name: f"Reader {chr(ord('A') + i)}: {'MLP' if c.config.arch == 'mlp' else 'CNN'}"
        for i, (name, c) in enumerate(found.items())
    }


def study_codes(ckpt: checkpoints.Checkpoint, n: int) -> torch.Tensor:
    """The codes whose edits are measured: n seeded test digits, encoded; a GAN's n samples."""
    model = ckpt.model
    if not model.has_encoder:
        return model.sample(n, torch.Generator().manual_seed(99))
    test = data.load_parts(data.Split.from_dict(ckpt.meta.get("split", {})))[2]
    rows = np.random.default_rng(0).permutation(len(test))[:n]
    return views.encode(model, test.images[torch.as_tensor(rows)])


@torch.inference_mode()
def classes(reader: torch.nn.Module, images: torch.Tensor) -> np.ndarray:
    return metrics.classifier_confidence(reader, images)[0].numpy()


def study_model(ckpt, directions, reader_models, real_sd, n_digits, n_boot) -> dict:
    """Every attribute's figures for one model."""
    model = ckpt.model
    codes = study_codes(ckpt, n_digits)
    base = views.decode(model, codes)
    base_attr = attributes.measure(base)
    base_class = {name: classes(r, base) for name, r in reader_models.items()}
    t = np.asarray(REQUESTS, np.float64)
    out = {}
    for j, name in enumerate(NAMES):
        step = torch.as_tensor(directions.steps[j], dtype=codes.dtype)
        moved = codes[:, None, :] + torch.as_tensor(t, dtype=codes.dtype)[None, :, None] * step
        images = views.decode(model, moved.reshape(-1, codes.shape[1]))
        deltas = attributes.measure(images).reshape(len(codes), len(t), -1) - base_attr[:, None]
        kept = {
            reader: classes(r, images).reshape(len(codes), len(t)) == base_class[reader][:, None]
            for reader, r in reader_models.items()
        }
        figures = summarise(t, directions.per_unit[j], deltas, kept, j, real_sd, n_boot)
        value, low, high, n = directions.r2[j]
        out[name] = {
            "r2": {"value": value, "low": low, "high": high, "n": int(n)},
            "alpha": float(directions.alpha[j]),
            "per_unit": float(directions.per_unit[j]),
            "code_sd": float(directions.code_sd[j]),
            **figures,
        }
    return out


KINDS = ("ae", "vae", "gan")


def _order(ckpt: checkpoints.Checkpoint) -> tuple:
    """The table's order: the d = 16 AE and VAE, the GAN, then the d = 2 pair."""
    return ckpt.model.latent_dim <= 2, KINDS.index(ckpt.config.kind), ckpt.model.latent_dim


def run(
    n_digits: int = N_DIGITS,
    n_boot: int = 1000,
    names: list[str] | None = None,
    refit: bool = False,
) -> dict:
    began = time.perf_counter()
    found = checkpoints.discover(CHECKPOINTS)
    names = names or [n for n in found if checkpoints.kind_of(n) in KINDS]
    found_readers = readers()
    reader_models = {name: c.model for name, c in found_readers.items()}
    loaded = {name: checkpoints.load(found[name]) for name in names}
    loaded = dict(sorted(loaded.items(), key=lambda item: _order(item[1])))
    encoders = [c for c in loaded.values() if c.model.has_encoder]
    real_sd = np.ones(len(NAMES))
    if encoders:  # the spread of real digits: side effects in SDs compare across attributes
        split = data.Split.from_dict(encoders[0].meta.get("split", {}))
        real = attributes.measured(data.load_parts(split)[2].images, CACHE)
        real_sd = np.nanstd(real, axis=0)
    models = {}
    for name, ckpt in loaded.items():
        print(f"{name}: fitting the probes and measuring edits…", flush=True)
        directions = attributes.load_or_fit(ckpt, CACHE, n_boot, refit)
        models[name] = {
            "sha256": ckpt.sha256,
            "label": model_label(ckpt),
            "kind": ckpt.config.kind,
            "latent_dim": ckpt.model.latent_dim,
            "source": directions.source,
            "attributes": study_model(ckpt, directions, reader_models, real_sd, n_digits, n_boot),
        }
    measures = ["r2", "follow_r2", *(f"kept:{r}" for r in reader_models)]
    return {
        "machine": machine(),
        "seconds": round(time.perf_counter() - began, 1),
        "digits": n_digits,
        "requests": list(REQUESTS),
        "units": attributes.UNITS,
        "real_sd": dict(zip(NAMES, real_sd.tolist(), strict=True)),
        "readers": {
            name: {"sha256": c.sha256, "label": reader_labels(found_readers)[name]}
            for name, c in found_readers.items()
        },
        "models": models,
        "winners": {m: winners(models, m) for m in measures} if len(models) > 1 else {},
    }


# ---- The README's table -------------------------------------------------------------------------


def _fmt(estimate: dict, digits: int = 2) -> str:
    return smoothness.Estimate(**estimate).text(digits)


def markdown(results: dict) -> str:
    """One row per attribute and model: decodability, control, side effects, class kept."""
    readers_ = results["readers"]
    header = [
        "attribute",
        "model",
        "held-out R²",
        "probe's change per unit",
        "achieved per unit",
        "follows: slope",
        "follows: R²",
        "other five (SD per unit)",
        *(f"class kept, {r['label']}" for r in readers_.values()),
    ]
    rows = []
    for attribute in NAMES:
        unit = results["units"][attribute]
        digits = 0 if attribute == "area" else 1 if attribute in ("slant", "length") else 2
        for model in results["models"].values():
            e = model["attributes"][attribute]
            rows.append(
                [
                    f"{attribute} ({unit})",
                    model["label"],
                    _fmt(e["r2"]),
                    f"{e['per_unit']:.{digits}f}",
                    _fmt(e["gain"], digits),
                    _fmt(e["slope"]),
                    _fmt(e["follow_r2"]),
                    _fmt(e["side_sd"]),
                    *(_fmt(e["kept"][r]) for r in readers_),
                ]
            )
    lines = [markdown_table(header, rows), "", winners_markdown(results)]
    return "\n".join(lines)


MEASURE_WORDS = {"r2": "decodability (R²)", "follow_r2": "follows the request (R²)"}


def winners_markdown(results: dict) -> str:
    """Per attribute, the model that wins each measure beyond the intervals ("–": none)."""
    from explorer.ui.cache import label

    measures = list(results["winners"])
    words = [MEASURE_WORDS.get(m, f"class kept, {label(m.partition(':')[2])}") for m in measures]
    rows = [
        [
            a,
            *(
                label(results["winners"][m][a]) if results["winners"][m][a] else "–"
                for m in measures
            ),
        ]
        for a in NAMES
    ]
    return markdown_table(["attribute", *words], rows)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.attributes", description=__doc__)
    parser.add_argument("--digits", type=int, default=N_DIGITS, help="digits whose edits count")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument(
        "--models", default="", help="comma-separated names, printed only (default: all, saved)"
    )
    parser.add_argument(
        "--refit", action="store_true", help="fit the directions again, not from the app's cache"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    threadpoolctl.threadpool_limits(1, "blas")
    names = [n for n in args.models.split(",") if n] or None
    results = run(args.digits, args.boot, names, args.refit)
    print(markdown(results))
    if names is None:  # a subset of the models is a trial: it leaves the results file as it was
        path = write_results(RESULTS, results)
        print(f"\n{path.relative_to(ROOT)} written in {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
