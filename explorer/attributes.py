"""What the latent directions mean: a linear probe from a model's codes to each of Morpho-MNIST's
six attributes, and the direction along which moving a code changes that attribute.

Castro et al. (Morpho-MNIST, JMLR 2019, §5) ask which directions of a latent space carry which
shape property; this follows their recipe with a ridge probe (Alain & Bengio's linear probes,
2016, on a generative model's code):

- **Codes.** An AE's code or a VAE's posterior mean of the model's own training digits (its
  checkpoint's split); the attributes are those digits' measures. A GAN has no encoder: its
  "digits" are its own samples, their attributes measured on the generated images and regressed
  on z (as many samples as it had training digits, others for validation and test).
- **Probe.** Ridge regression of each attribute on the codes, each dimension standardised first;
  the penalty α (per digit, on that standard scale) is the one of :data:`ALPHAS` with the best R²
  on the validation digits. Its quality is its R² on the test digits, with a percentile-bootstrap
  interval over them (:func:`explorer.smoothness.bootstrap`).
- **Direction.** The probe's weights w (attribute per unit of code) point across directions the
  codes may barely use: an AE's codes are far from isotropic. The direction is Σw instead (Σ the
  training codes' covariance), the way the codes' mean moves as the probe's prediction grows (for
  least squares exactly Cov(z, attribute)), so an edit stays among codes the decoder has seen;
  for a VAE's or GAN's near-isotropic codes the two agree. **One unit** along it moves the code by
  one standard deviation of the training codes along that direction: step = σ_u·u with u = Σw/‖Σw‖
  and σ_u² = uᵀΣu. The probe's predicted change per unit is ``per_unit`` = wᵀ·step (≥ 0).
- **Units.** Morpho-MNIST's pixels of the 28×28 frame (area px²), slant in degrees (positive:
  the top leans right). An attribute slider asks for a change in those units: the code moves by
  ``change / per_unit`` units along the direction.

Results are kept on disk per checkpoint hash (:func:`load_or_fit`) as plain arrays.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from explorer import data, morphometrics, smoothness, views
from explorer.checkpoints import Checkpoint

# Morpho-MNIST's six measures (explorer.morphometrics.NAMES), in the order a class meets them on
# the sliders: the stroke first, then its shape, then how much ink.
NAMES = ("thickness", "slant", "width", "height", "area", "length")
UNITS = {
    "area": "px²",
    "length": "px",
    "thickness": "px",
    "slant": "°",
    "width": "px",
    "height": "px",
}
# What moving along each direction does, as a slider's two ends say it (low, high).
WORDS = {
    "area": ("less ink", "more ink"),
    "length": ("shorter", "longer"),
    "thickness": ("thinner", "thicker"),
    "slant": ("less slant", "more slant"),
    "width": ("narrower", "wider"),
    "height": ("shorter", "taller"),
}
ALPHAS = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # ridge penalties per digit, standardised codes
RANGE = 3.0  # an attribute slider spans ±3 units (code SDs) along its direction
VERSION = 2  # part of the cache key: fits by older code are not reused
READER_PREFIX = "classifier"  # every bundled checkpoint whose name starts so is a reader
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "attributes.json"


def label(name: str) -> str:
    """A slider's label: "thickness (px)" (its ends: :data:`WORDS`)."""
    return f"{name} ({UNITS[name]})"


def table(measures: morphometrics.Morphometrics) -> np.ndarray:
    """The six attributes (n, 6) in the order of :data:`NAMES`, slant in degrees."""
    columns = {name: getattr(measures, name) for name in NAMES}
    columns["slant"] = np.degrees(columns["slant"])
    return np.stack([columns[name] for name in NAMES], axis=1)


def measure(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """The six attributes (n, 6) of images (n, 1, 28, 28); NaN where there is no stroke."""
    return table(morphometrics.measure(images))


# ---- The probe and its direction ----------------------------------------------------------------


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot (NaN when y is constant)."""
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - predicted) ** 2).sum()) / total if total > 0 else float("nan")


@dataclass(frozen=True)
class Probe:
    """A linear prediction of one attribute from a code: ``weights @ z + intercept``."""

    weights: np.ndarray  # (d,) attribute per unit of raw code
    intercept: float
    alpha: float  # the ridge penalty chosen on the validation digits

    def predict(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(codes, np.float64) @ self.weights + self.intercept


def fit_probe(
    codes: np.ndarray,
    y: np.ndarray,
    val_codes: np.ndarray,
    val_y: np.ndarray,
    alphas: tuple[float, ...] = ALPHAS,
) -> Probe:
    """Ridge regression of y (n,) on codes (n, d), each dimension standardised over the training
    codes; α (times n, on that scale) chosen by R² on the validation set."""
    codes, val_codes = np.asarray(codes, np.float64), np.asarray(val_codes, np.float64)
    mean, sd = codes.mean(0), codes.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)  # a constant dimension: its weight is shrunk to 0
    x = (codes - mean) / sd
    gram, target = x.T @ x, x.T @ (y - y.mean())
    best = None
    for alpha in alphas:
        w = np.linalg.solve(gram + alpha * len(x) * np.eye(x.shape[1]), target) / sd
        probe = Probe(w, float(y.mean() - mean @ w), alpha)
        score = r2(val_y, probe.predict(val_codes))
        if best is None or score > best[0]:
            best = (score, probe)
    return best[1]


def direction(weights: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(step (d,), per_unit, code_sd): one unit along Σw, the training codes' SD along it, and
    the change the probe predicts per unit. All zero when the probe is flat."""
    v = cov @ weights
    norm = float(np.linalg.norm(v))
    if norm < 1e-12:
        return np.zeros_like(weights), 0.0, 0.0
    u = v / norm
    code_sd = float(np.sqrt(max(u @ cov @ u, 0.0)))
    step = code_sd * u
    return step, float(weights @ step), code_sd


def r2_estimate(y: np.ndarray, predicted: np.ndarray, n_boot: int = 1000, seed: int = 0):
    """Held-out R² with its percentile-bootstrap interval over the test digits."""
    pairs = np.stack([y, predicted], axis=1)
    return smoothness.bootstrap(pairs, lambda p: r2(p[:, 0], p[:, 1]), n_boot=n_boot, seed=seed)


# ---- Every attribute of one model ---------------------------------------------------------------


@dataclass(frozen=True)
class Parts:
    """Codes (n, d) and attributes (n, 6) of the training, validation and test digits."""

    codes: tuple[np.ndarray, np.ndarray, np.ndarray]
    attributes: tuple[np.ndarray, np.ndarray, np.ndarray]
    source: str  # what the codes are, in words


@dataclass(frozen=True)
class Directions:
    """One model's six directions, in the order of :data:`NAMES`."""

    sha256: str
    steps: np.ndarray  # (6, d): one unit (a code SD) along each direction
    per_unit: np.ndarray  # (6,) the probe's predicted change per unit, attribute units
    code_sd: np.ndarray  # (6,) the training codes' SD along each direction
    r2: np.ndarray  # (6, 4): held-out R², its interval's low and high, test digits
    alpha: np.ndarray  # (6,)
    attribute_mean: np.ndarray  # (6,) over the probe's training digits (or samples)
    attribute_sd: np.ndarray  # (6,)
    pool_codes: np.ndarray  # (n, d) the training codes (a GAN's: its "version" of a digit)
    pool_attributes: np.ndarray  # (n, 6)
    source: str

    def per_attribute(self) -> np.ndarray:
        """(6, d): the code change that asks for one attribute unit (px, °, px²) more."""
        scale = np.where(self.per_unit > 1e-12, self.per_unit, np.inf)
        return self.steps / scale[:, None]

    def bounds(self, index: int) -> tuple[float, float]:
        """An attribute slider's range, ±RANGE units, in attribute units on a 0.01 grid."""
        high = max(np.ceil(RANGE * float(self.per_unit[index]) * 100) / 100, 0.01)
        return -high, high

    def r2_estimate(self, index: int) -> smoothness.Estimate:
        value, low, high, n = self.r2[index]
        return smoothness.Estimate(float(value), float(low), float(high), int(n))

    def edit(self, codes: torch.Tensor, changes: np.ndarray | list[float]) -> torch.Tensor:
        """Codes (n, d) moved to ask for ``changes`` (6,) in attribute units."""
        delta = torch.as_tensor(np.asarray(changes, np.float64) @ self.per_attribute())
        return codes + delta.to(codes.dtype)


def fit(parts: Parts, sha256: str = "", n_boot: int = 1000) -> Directions:
    """Probes and directions for all six attributes. Rows with no stroke are left out."""
    (train_z, val_z, test_z), (train_a, val_a, test_a) = parts.codes, parts.attributes
    ok = [np.isfinite(a).all(1) for a in parts.attributes]
    train_z, train_a = train_z[ok[0]], train_a[ok[0]]
    cov = np.cov(train_z, rowvar=False).reshape(train_z.shape[1], train_z.shape[1])
    out: dict[str, list] = {k: [] for k in ("steps", "per_unit", "code_sd", "r2", "alpha")}
    for j in range(len(NAMES)):
        probe = fit_probe(train_z, train_a[:, j], val_z[ok[1]], val_a[ok[1], j])
        step, per_unit, code_sd = direction(probe.weights, cov)
        estimate = r2_estimate(test_a[ok[2], j], probe.predict(test_z[ok[2]]), n_boot, seed=j)
        for key, value in zip(out, (step, per_unit, code_sd, None, probe.alpha), strict=True):
            out[key].append(value)
        out["r2"][-1] = [estimate.value, estimate.low, estimate.high, estimate.n]
    return Directions(
        sha256,
        *(np.array(out[k], np.float64) for k in out),
        attribute_mean=train_a.mean(0),
        attribute_sd=train_a.std(0),
        pool_codes=train_z.astype(np.float32),
        pool_attributes=train_a,
        source=parts.source,
    )


def model_parts(ckpt: Checkpoint, cache_dir: Path | None = None) -> Parts:
    """The codes and attributes a model's probes are fitted on (see the module's docstring)."""
    model = ckpt.model
    split = data.Split.from_dict(ckpt.meta.get("split", {}))
    digits = data.load_parts(split)
    if model.has_encoder:
        codes = tuple(views.encode(model, d.images).numpy() for d in digits)
        attributes = tuple(measured(d.images, cache_dir) for d in digits)
        source = f"its {len(digits[0]):,} encoded training digits"
        return Parts(codes, attributes, source)
    sizes = (len(digits[0]), max(len(digits[1]), 500), len(digits[2]))
    codes = tuple(
        model.sample(n, torch.Generator().manual_seed(seed))
        for seed, n in enumerate(sizes, start=1)
    )
    attributes = tuple(_measure_samples(model, z) for z in codes)
    source = f"{sizes[0]:,} of its own samples (no encoder): attributes measured on the images"
    return Parts(tuple(z.numpy() for z in codes), attributes, source)


def _measure_samples(model, codes: torch.Tensor, batch: int = 500) -> np.ndarray:
    """The attributes of a generator's images of ``codes``, decoded ``batch`` at a time (all at
    once, 8,500 of the GAN's would hold gigabytes of activations)."""
    return np.concatenate(
        [measure(views.decode(model, codes[i : i + batch])) for i in range(0, len(codes), batch)]
    )


def measured(images: torch.Tensor, cache_dir: Path | None = None) -> np.ndarray:
    """:func:`measure` of real digits, kept on disk by the images' content (about 1 s of CPU per
    1,000 digits the first time)."""
    if cache_dir is None:
        return measure(images)
    raw = images.detach().contiguous().numpy().tobytes()
    key = hashlib.sha256(raw).hexdigest()[:24]
    path = Path(cache_dir) / f"morpho-{key}-v{VERSION}.npy"
    try:
        found = np.load(path, allow_pickle=False)
        if found.shape == (len(images), len(NAMES)):
            return found
    except (OSError, ValueError):
        pass  # missing or damaged: measured again and rewritten
    values = measure(images)
    _atomic(path, lambda handle: np.save(handle, values))
    return values


# ---- Kept per checkpoint hash -------------------------------------------------------------------

_ARRAYS = (
    "steps",
    "per_unit",
    "code_sd",
    "r2",
    "alpha",
    "attribute_mean",
    "attribute_sd",
    "pool_codes",
    "pool_attributes",
)


def cache_path(sha256: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"attributes-{sha256[:24]}-v{VERSION}.npz"


def load_or_fit(
    ckpt: Checkpoint, cache_dir: Path, n_boot: int = 1000, refit: bool = False
) -> Directions:
    """A model's directions from the disk cache (keyed by its checkpoint's hash), else (or with
    ``refit``) fitted now (seconds: mostly measuring its training digits) and stored."""
    path = cache_path(ckpt.sha256, cache_dir)
    try:
        if refit:
            raise OSError("refit")
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in _ARRAYS}
            meta = json.loads(str(stored["meta"]))
        if arrays["steps"].shape == (len(NAMES), ckpt.model.latent_dim):
            return Directions(ckpt.sha256, **arrays, source=meta["source"])
    except (OSError, KeyError, ValueError):
        pass  # missing or damaged: fitted again
    found = fit(model_parts(ckpt, cache_dir), ckpt.sha256, n_boot)
    arrays = {key: getattr(found, key) for key in _ARRAYS}
    meta = np.array(json.dumps({"source": found.source}))
    _atomic(path, lambda handle: np.savez(handle, meta=meta, **arrays))
    return found


def _atomic(path: Path, write) -> None:
    """Write through a temporary file and one replace; an unwritable folder only costs time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except OSError:
        pass


def read_results(path: Path = RESULTS) -> dict | None:
    """``python -m bench.attributes``'s results, or None when they were never written."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ---- A model's "version" of a digit -------------------------------------------------------------


def closest(attributes: np.ndarray, pool: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Rows of ``pool`` (n, 6), closest first to ``attributes`` (6,), each attribute measured in
    ``scale`` (its SD); rows with no stroke last."""
    distance = np.nansum(((pool - attributes) / np.where(scale > 0, scale, 1.0)) ** 2, axis=1)
    return np.argsort(np.where(np.isfinite(pool).all(1), distance, np.inf), kind="stable")
