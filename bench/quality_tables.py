"""The README's tables from bench/results/quality.json (:mod:`bench.quality` writes it): what
the reference VAE tried on validation, the test scores of both VAEs, the readers' accuracy and
the samples' Fréchet distance, KID and share read as a digit."""

from __future__ import annotations

import statistics

from bench.common import markdown_table


def _aug(s: dict) -> str:
    parts = []
    if s["shift"]:
        parts.append(f"shifts ≤ {s['shift']} px")
    if s["rotate"]:
        parts.append(f"rotations ≤ {s['rotate']:g}°")
    return ", ".join(parts) or "none"


def markdown(results: dict) -> str:
    """The README's tables: what the reference tried on validation, the test scores of both,
    the readers, and the samples."""
    tried = []
    chosen = results["reference"]["settings"]
    for t in results["reference"]["selection"]:
        won = all(t[k] == chosen[k] for k in chosen)
        peak = f"{t['best_epoch']} ({t['best_step']})"
        cells = [t["batch_size"], _aug(t), peak, f"{t['best_val_elbo']:.1f}"]
        tried.append([f"reference{' (chosen)' if won else ''}", *cells])
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
        f"{noise:.3f} nats.",
    ]
    if "readers" in results:
        rows = [
            [name, f"{100 * a['val']:.1f} %", f"{100 * a['test']:.1f} %"]
            for name, a in results["readers"].items()
        ]
        lines += ["", markdown_table(["reader", "validation accuracy", "test accuracy"], rows)]
    if "samples" in results:
        lines += ["", samples_markdown(results["samples"])]
    return "\n".join(lines)


def _spread_cell(c: dict) -> str:
    return f"{c['mean']:.1f} [{c['min']:.1f}, {c['max']:.1f}]"


SAMPLE_LABELS = {
    "floor": "500 training digits (the floor)",
    "gan": "DCGAN",
    "vae": "VAE d = 16 (N(0, I))",
    "ae": "AE d = 16 (fitted Gaussian)",
    "vae2d": "VAE d = 2 (N(0, I))",
    "ae2d": "AE d = 2 (fitted Gaussian)",
}


def samples_markdown(samples: dict) -> str:
    """One row per model: per reader, the Fréchet distance (mean of the sample seeds, with
    each seed's value), KID and the share read as a digit."""
    header = ["500 samples against the 500 test digits"]
    for reader in samples:
        header += [f"Fréchet, {reader}", f"KID, {reader}", f"read as a digit, {reader}"]
    rows = []
    for model, label in SAMPLE_LABELS.items():
        cells = [label]
        for table in samples.values():
            values = table[model]
            frechet = [v["frechet"] for v in values]
            seeds = f" ({', '.join(f'{f:.0f}' for f in frechet)})" if len(frechet) > 1 else ""
            cells += [
                f"{statistics.fmean(frechet):.1f}{seeds}",
                f"{statistics.fmean(v['kid'] for v in values):.2f}",
                f"{statistics.fmean(v['confident'] for v in values):.2f}",
            ]
        rows.append(cells)
    return markdown_table(header, rows)
