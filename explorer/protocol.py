"""AE vs VAE measured so that a claim survives another reader, other pairs and other seeds.

Two kinds of measure:

- **reader-free**: along a path between two held-out digits, the largest pixel jump between
  frames and the pixel path length (the sum of the frames' mean |Δ pixel|); for samples, the
  prior coverage (:mod:`explorer.coverage`: the share of samples far from every code the model
  was trained on) and the morphometrics of the decoded strokes (:mod:`explorer.morphometrics`:
  the share with no stroke, and the mean distance of the six attributes' distributions to real
  digits');
- **per reader** (a digit classifier chosen on real validation digits only, never on any
  model's decodes): the lowest confidence and the share of frames read as a digit between a and
  b, the share of those frames that are *garbage* (neither a digit nor a blend of two), the
  share of samples read as a digit, their diversity (entropy of the digits read, over the
  samples read as one), and KID (Bińkowski et al., ICLR 2018) to real held-out digits on the
  reader's features.

Each measure has a direction in which the VAE would be "better" (smoother paths, a filled
prior). A VAE − AE difference is taken over the same pairs or the same N(0, I) codes (paired) or
between two sets (unpaired), with a 95 % interval. Over every combination of training seed,
pair/sample set and reader, a claim is **robust** when every interval excludes 0 with the VAE
better, **reversed** when every one excludes 0 with the AE better, and **mixed** otherwise
(:func:`verdict`). ``bench.smoothness --protocol`` runs it; the page and the lesson read its
results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer import compare, coverage, latent, metrics, morphometrics, smoothness

PATH_FRAMES = compare.PATH_FRAMES
N_PAIRS = 200
N_SAMPLES = 1000
STUDY_CHUNK = 50  # pairs decoded at once: a 1,000-pair study never holds every frame


@dataclass(frozen=True)
class Measure:
    """A measure of one model: its key, words for a person, the side the VAE would win on
    ("higher" or "lower"), what it is measured on ("paths" or "samples"), whether it needs a
    reader, and whether VAE and AE values pair up one to one (same pairs, same codes)."""

    key: str
    label: str
    better: str
    on: str
    reader: bool
    paired: bool = True
    decimals: int = 3


MEASURES = (
    Measure(
        "largest_jump", "largest jump between frames (mean |Δ pixel|)", "lower", "paths", False
    ),
    Measure("pixel_path", "path length in pixels (sum of mean |Δ pixel|)", "lower", "paths", False),
    Measure("lowest_confidence", "lowest confidence between a and b", "higher", "paths", True),
    Measure(
        "confident_share",
        "share of frames between a and b read as a digit",
        "higher",
        "paths",
        True,
    ),
    Measure(
        "garbage_share", "share of frames between a and b that are garbage", "lower", "paths", True
    ),
    Measure(
        "far_share", "share of samples far from every training code", "lower", "samples", False
    ),
    Measure("no_stroke", "share of samples with no stroke", "lower", "samples", False),
    Measure(
        "attribute_distance",
        "morphometric distance to real digits (SDs)",
        "lower",
        "samples",
        False,
        paired=False,
        decimals=2,
    ),
    Measure("confident", "share of samples read as a digit", "higher", "samples", True),
    Measure(
        "diversity",
        "diversity of the digits read (nats; ln 10 = 2.30)",
        "higher",
        "samples",
        True,
        paired=False,
        decimals=2,
    ),
    Measure(
        "kid",
        "KID to real digits (reader's features)",
        "lower",
        "samples",
        True,
        paired=False,
        decimals=1,
    ),
)
BY_KEY = {m.key: m for m in MEASURES}


@torch.inference_mode()
def path_arrays(
    model: nn.Module,
    codes: torch.Tensor,
    pairs: np.ndarray,
    readers: dict[str, nn.Module],
    frames: int = PATH_FRAMES,
) -> dict[str, np.ndarray]:
    """Per pair: the path's codes (λ = 1 first), its reader-free measures, and per reader ``r``
    each frame's top class and probability (``r:labels``, ``r:top``) and second probability
    (``r:second``), computed STUDY_CHUNK pairs at a time."""
    lam = latent.lambdas(frames).reshape(1, frames, 1)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, len(pairs), STUDY_CHUNK):
        chunk = pairs[start : start + STUDY_CHUNK]
        a, b = codes[chunk[:, 0]].unsqueeze(1), codes[chunk[:, 1]].unsqueeze(1)
        path = latent.interpolate(a, b, lam, "linear")  # (n, frames, d)
        images = compare.decode_all(model, path.reshape(-1, path.shape[-1]))
        steps = images.reshape(len(chunk), frames, -1)
        jumps = (steps[:, 1:] - steps[:, :-1]).abs().mean(2)  # (n, frames − 1)
        part = {
            "codes": path.numpy(),
            "largest_jump": jumps.max(1).values.double().numpy(),
            "pixel_path": jumps.sum(1).double().numpy(),
        }
        for name, reader in readers.items():
            probs = compare.probabilities(reader, images).reshape(len(chunk), frames, 10)
            top2 = probs.topk(2, dim=2)
            part[f"{name}:labels"] = top2.indices[..., 0].numpy()
            part[f"{name}:top"] = top2.values[..., 0].double().numpy()
            part[f"{name}:second"] = top2.values[..., 1].double().numpy()
        parts.append(part)
    out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    out["pairs"] = np.asarray(pairs)
    return out


def path_measures(arrays: dict[str, np.ndarray], reader: str | None) -> dict[str, np.ndarray]:
    """Per-pair values of the path measures (reader-free ones when ``reader`` is None), over
    the frames strictly between a and b."""
    if reader is None:
        return {"largest_jump": arrays["largest_jump"], "pixel_path": arrays["pixel_path"]}
    top = arrays[f"{reader}:top"][:, 1:-1]
    second = arrays[f"{reader}:second"][:, 1:-1]
    confident = top >= smoothness.CONFIDENT
    garbage = ~confident & (top + second < smoothness.CONFIDENT)
    return {
        "lowest_confidence": top.min(1),
        "confident_share": confident.mean(1),
        "garbage_share": garbage.mean(1),
    }


@dataclass(frozen=True)
class Reference:
    """What samples are measured against: the codes the model was trained on (a VAE's as draws
    from q(z|x), see explorer.coverage), their spacing, and the real held-out digits'
    morphometrics and per-reader features."""

    codes: torch.Tensor | None  # None for a GAN (no encoder): no prior coverage
    spacing: coverage.Spacing | None
    morpho: morphometrics.Morphometrics
    features: dict[str, np.ndarray]


def reference(
    model: nn.Module, train_images: torch.Tensor, test_images: torch.Tensor, readers: dict
) -> Reference:
    codes = training_codes(model, train_images)
    features = {n: metrics.classifier_features(r, test_images) for n, r in readers.items()}
    spacing = coverage.code_spacing(codes)
    return Reference(codes, spacing, morphometrics.measure(test_images), features)


@torch.inference_mode()
def training_codes(model: nn.Module, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The codes a model's decoder was trained on: an AE's codes, a VAE's draws z ~ q(z|x)
    (one per digit, seeded)."""
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for start in range(0, len(images), 1000):
        x = images[start : start + 1000]
        if hasattr(model, "posterior"):
            mu, logvar = model.posterior(x)
            parts.append(model.reparameterize(mu, logvar, generator))
        else:
            parts.append(model.encode(x))
    return torch.cat(parts)


@torch.inference_mode()
def sample_arrays(
    model: nn.Module, z: torch.Tensor, readers: dict[str, nn.Module], ref: Reference | None
) -> dict[str, np.ndarray]:
    """Per sample: reader-free flags (far from every training code, no stroke: None ``ref``
    skips them, as for a GAN), the six attribute distances, and per reader the probabilities'
    top class and value and the features for KID."""
    images = compare.decode_all(model, z)
    out: dict[str, np.ndarray] = {"images": (images[:36] * 255).round().to(torch.uint8).numpy()}
    morpho = morphometrics.measure(images)
    out["no_stroke"] = (~morpho.stroke).astype(np.float64)
    if ref is not None and ref.codes is not None:
        out["far_share"] = coverage.coverage(ref.codes, z, ref.spacing).far.astype(np.float64)
    if ref is not None:
        out["attributes"] = _attribute_table(morpho)  # (n, 6), NaN rows without a stroke
    for name, reader in readers.items():
        probs = compare.probabilities(reader, images)
        top = probs.max(1)
        out[f"{name}:labels"] = top.indices.numpy()
        out[f"{name}:top"] = top.values.double().numpy()
        out[f"{name}:features"] = metrics.classifier_features(reader, images).astype(np.float32)
    return out


def sample_values(arrays: dict, reader: str | None, ref: Reference | None) -> dict:
    """The sample measures: per-sample arrays for the paired ones, Estimates for the others."""
    if reader is None:
        out: dict = {"no_stroke": arrays["no_stroke"]}
        if "far_share" in arrays:
            out["far_share"] = arrays["far_share"]
        if "attributes" in arrays and ref is not None:
            out["attribute_distance"] = attribute_distance(arrays["attributes"], ref.morpho)
        return out
    confident = arrays[f"{reader}:top"] >= smoothness.CONFIDENT
    labels = arrays[f"{reader}:labels"][confident]
    out = {
        "confident": confident.astype(np.float64),
        "diversity": smoothness.bootstrap(labels, smoothness.digit_diversity, n_boot=500)
        if len(labels) > 1
        else smoothness.Estimate(0.0, 0.0, 0.0, len(labels)),
    }
    if ref is not None:
        kid = metrics.kernel_inception_distance(
            arrays[f"{reader}:features"].astype(np.float64), ref.features[reader], subsets=50
        ).estimate()
        out["kid"] = kid
    return out


def _attribute_table(morpho: morphometrics.Morphometrics) -> np.ndarray:
    return np.stack([getattr(morpho, name) for name in morphometrics.NAMES], axis=1)


def attribute_distance(
    table: np.ndarray, real: morphometrics.Morphometrics, n_boot: int = 200
) -> smoothness.Estimate:
    """The mean over the six attributes of :func:`explorer.morphometrics.attribute_distances`
    (Wasserstein-1 distance to the real digits' distribution, in their SDs) for samples' rows
    of attributes (n, 6), with a bootstrap interval over the samples; samples without a stroke
    are left out (they count in "no stroke")."""
    from scipy.stats import wasserstein_distance  # seconds to import: only when computing

    rows = table[np.isfinite(table).all(1)]
    if len(rows) < 2:
        return smoothness.Estimate(float("nan"), float("nan"), float("nan"), len(rows))
    reference = _attribute_table(real)[real.stroke]
    spread = reference.std(0)

    def mean_distance(sample: np.ndarray) -> float:
        return float(
            np.mean(
                [
                    wasserstein_distance(sample[:, j], reference[:, j]) / spread[j]
                    for j in range(sample.shape[1])
                ]
            )
        )

    return smoothness.bootstrap(rows, mean_distance, n_boot=n_boot)


@dataclass(frozen=True)
class Difference:
    """VAE − AE for one measure in one combination: the difference, its 95 % interval (paired
    bootstrap, or the gap between two intervals), and whether the VAE is better beyond it
    (+1), the AE (−1), or neither (0)."""

    value: float
    low: float
    high: float
    winner: int

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "winner": self.winner}


def difference(measure: Measure, ae, vae) -> Difference:
    """VAE − AE of per-item arrays (paired) or of two Estimates (unpaired: apart or not)."""
    sign = 1 if measure.better == "higher" else -1
    if measure.paired:
        est = smoothness.bootstrap(np.asarray(vae) - np.asarray(ae))
        low, high = est.low, est.high
        value = est.value
        apart = est.excludes(0.0)
    else:
        value = vae.value - ae.value
        low, high = vae.low - ae.high, vae.high - ae.low
        apart = vae.low > ae.high or vae.high < ae.low
    winner = int(np.sign(value) * sign) if apart else 0
    return Difference(float(value), float(low), float(high), winner)


VERDICTS = ("robust", "mixed", "reversed")


def verdict(differences: list[Difference]) -> str:
    """ "robust" when every combination's interval excludes 0 with the VAE better, "reversed"
    when every one does with the AE better, else "mixed"."""
    winners = {d.winner for d in differences}
    if winners == {1}:
        return "robust"
    if winners == {-1}:
        return "reversed"
    return "mixed"


def estimate_of(values) -> smoothness.Estimate:
    """A per-item array's mean with its bootstrap interval, or an Estimate as it is."""
    if isinstance(values, smoothness.Estimate):
        return values
    return smoothness.bootstrap(np.asarray(values, dtype=np.float64))


def decimals_for(low: float, high: float, at_least: int = 2) -> int:
    """Decimals enough to tell an interval's ends apart (so "0.00 [0.00, 0.00]" never shows):
    the first decimal at which they differ, at least ``at_least``, at most 6."""
    width = abs(high - low)
    if width == 0 or not np.isfinite(width):
        return at_least
    return int(min(6, max(at_least, -np.floor(np.log10(width)))))
