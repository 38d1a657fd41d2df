"""What the AE vs VAE page shows, computed once per checkpoint, reader and code version.

``python -m explorer.precompute`` writes every default result for the bundled checkpoints into
``checkpoints/precomputed/`` (committed; ``checkpoints/train_all.sh`` runs it after training),
with the run-time caches' files a first view reads (:mod:`explorer.seeds`), so a fresh clone's
first views read arrays instead of decoding thousands of images; a server makes anything
missing (a retrained checkpoint) in the background at its start (:mod:`explorer.warmup`), and a
page that comes first computes it on first use and keeps it in the run-time cache
(:mod:`explorer.store`). A result's name holds the
hashes of every checkpoint it depends on and its kind's version in :data:`VERSIONS`: change what
a kind computes, bump its version.

Home's sample grids (``grid``: 64 samples of a model at the default seed, as the PNG Home
shows) and three kinds for one model and every bundled reader (:func:`readers`):

- ``paths``: the study of seeded random held-out pairs (:func:`explorer.protocol.path_arrays`);
- ``samples``: 1,000 decoded codes from N(0, I) or (an AE) the Gaussian fitted to its codes:
  36 images to show, and per sample the flags and readings of :func:`explorer.protocol
  .sample_arrays`;
- ``atlas``: a d = 2 model's plane over a window: decoded tiles, and on a finer grid each
  reader's top two probabilities and the distance to the nearest training code (coverage).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from explorer import (
    checkpoints,
    compare,
    coverage,
    data,
    images,
    metrics,
    morphometrics,
    protocol,
    smoothness,
    store,
    views,
    warmup,
)
from explorer.checkpoints import Checkpoint

VERSIONS = {"paths": 2, "samples": 3, "atlas": 2, "codes": 1, "grid": 1}
DEFAULT_PAIRS, DEFAULT_PAIR_SEED, DEFAULT_SAMPLE_SEED = 200, 0, 0
READERS = ("classifier", "classifier_mlp")  # file names of the bundled readers
ATLAS_TILES, ATLAS_HEAT = 15, 31
SHIPPED = "precomputed"  # beside the checkpoints
GRID_KINDS = ("ae", "vae", "gan")  # the models Home shows samples of


def readers(folder: Path) -> dict[str, Checkpoint]:
    """The bundled readers that load, by name (the CNN first)."""
    found = {}
    for name in READERS:
        path = Path(folder) / f"{name}.safetensors"
        if path.is_file():
            found[name] = checkpoints.load(path, kind="classifier")
    return found


def _hashes(model: Checkpoint, found: dict[str, Checkpoint]) -> tuple:
    return (model.sha256, *(f"{n}:{r.sha256}" for n, r in found.items()))


def split_of(model: Checkpoint) -> data.Split:
    return data.Split.from_dict(model.meta.get("split", {}))


# ---- The kinds -----------------------------------------------------------------------------------


def grid_name(model: Checkpoint, seed: int) -> str:
    return store.key("grid", VERSIONS["grid"], model.sha256, seed)


def grid(model: Checkpoint, seed: int) -> dict[str, np.ndarray]:
    """64 samples from the model's prior (an AE: its fitted Gaussian), 8 x 8, as PNG bytes."""
    m = model.model
    frames = views.decode(m, m.sample(64, torch.Generator().manual_seed(seed)))
    png = images.png_bytes(images.grid(frames, ncol=8), scale=2)
    return {"png": np.frombuffer(png, dtype=np.uint8)}


def codes_name(model: Checkpoint) -> str:
    return store.key("codes", VERSIONS["codes"], model.sha256)


def codes(model: Checkpoint) -> dict[str, np.ndarray]:
    """The model's codes of its held-out digits, and those its decoder was trained on (a
    VAE's draws from q(z|x)) for coverage."""
    train, _, test = data.load_parts(split_of(model))
    with torch.inference_mode():
        held_out = model.model.encode(test.images)
    trained = protocol.training_codes(model.model, train.images)
    return {"held_out": held_out.numpy(), "trained": trained.numpy()}


def paths_name(model: Checkpoint, found: dict, n_pairs: int, seed: int) -> str:
    return store.key("paths", VERSIONS["paths"], *_hashes(model, found), n_pairs, seed)


def paths(model: Checkpoint, found: dict, held_out: np.ndarray, n_pairs: int, seed: int) -> dict:
    labels = data.load_test(split_of(model)).labels.numpy()
    pairs = smoothness.random_pairs(labels, n_pairs, seed)
    models = {n: r.model for n, r in found.items()}
    arrays = protocol.path_arrays(model.model, torch.from_numpy(held_out), pairs, models)
    arrays["codes"] = arrays["codes"].astype(np.float32)
    return arrays


def samples_name(model: Checkpoint, found: dict, source: str, seed: int) -> str:
    return store.key("samples", VERSIONS["samples"], *_hashes(model, found), source, seed)


def samples(model: Checkpoint, found: dict, trained: np.ndarray, source: str, seed: int) -> dict:
    """1,000 samples from N(0, I) (``prior``) or the model's own sampler (``fitted``)."""
    m = model.model
    if source == "prior":
        z = compare.prior_codes(protocol.N_SAMPLES, m.latent_dim, seed)
    else:
        z = compare.fitted_codes(m, protocol.N_SAMPLES, seed)
    test = data.load_test(split_of(model))
    features = {n: metrics.classifier_features(r.model, test.images) for n, r in found.items()}
    codes_t = torch.from_numpy(trained)
    spacing = coverage.code_spacing(codes_t)
    ref = protocol.Reference(codes_t, spacing, morphometrics.measure(test.images), features)
    arrays = protocol.sample_arrays(m, z, {n: r.model for n, r in found.items()}, ref)
    for name in found:  # features for KID, half precision: 0.25 MB a reader
        arrays[f"{name}:features"] = arrays[f"{name}:features"].astype(np.float16)
    arrays.update(sample_summary(arrays, features))
    return arrays


def sample_summary(arrays: dict, real: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the samples view states, each as (value, low, high, n) (:func:`estimate`): per
    reader the share read as a digit and the KID to the real digits' ``real`` features (50
    subsets), and the shares far from every training code and with no stroke (seconds of
    bootstrap and kernel sums, so computed once with the samples)."""
    out = {}
    for name, features in real.items():
        confident = (arrays[f"{name}:top"] >= smoothness.CONFIDENT).astype(np.float64)
        out[f"{name}:confident_share"] = _share(confident)
        kid = metrics.kernel_inception_distance(
            arrays[f"{name}:features"].astype(np.float64), features, subsets=50
        ).estimate()
        out[f"{name}:kid"] = np.array([kid.value, kid.low, kid.high, kid.n], dtype=np.float64)
    for key in ("far_share", "no_stroke"):
        if key in arrays:
            out[f"{key}_share"] = _share(arrays[key])
    return out


def _share(values: np.ndarray) -> np.ndarray:
    """A share's (value, low, high, n); exactly (0, 0, 0, n) when no value is set."""
    if not np.any(values):
        return np.array([0.0, 0.0, 0.0, len(values)])
    found = smoothness.bootstrap(values)
    return np.array([found.value, found.low, found.high, found.n], dtype=np.float64)


def estimate(arrays: dict, key: str) -> smoothness.Estimate:
    """A stored (value, low, high, n) as an Estimate."""
    value, low, high, n = (float(v) for v in arrays[key])
    return smoothness.Estimate(value, low, high, int(n))


def atlas_name(model: Checkpoint, found: dict, window: tuple[float, float]) -> str:
    low, high = (round(float(v), 4) for v in window)
    return store.key("atlas", VERSIONS["atlas"], *_hashes(model, found), low, high)


@torch.inference_mode()
def atlas(model: Checkpoint, found: dict, trained: np.ndarray, window: tuple[float, float]) -> dict:
    """The plane's tiles (uint8, top row first), and on the finer heat grid each reader's top
    two probabilities and top class, and the distance to the nearest training code in spacing
    units (with the far radius)."""
    low, high = window
    tiles = compare.decode_all(model.model, compare.plane_grid(low, high, ATLAS_TILES))[:, 0]
    grid = compare.plane_grid(low, high, ATLAS_HEAT)
    heat = compare.decode_all(model.model, grid)
    out = {"window": np.array([low, high]), "tiles": images.to_uint8(tiles)}
    shape = (ATLAS_HEAT, ATLAS_HEAT)
    for name, reader in found.items():
        top2 = compare.probabilities(reader.model, heat).topk(2, dim=1)
        out[f"{name}:top"] = top2.values[:, 0].reshape(shape).double().numpy()
        out[f"{name}:second"] = top2.values[:, 1].reshape(shape).double().numpy()
        out[f"{name}:labels"] = top2.indices[:, 0].reshape(shape).numpy()
    spacing = coverage.code_spacing(trained)
    near = coverage.coverage(trained, grid, spacing)
    out["distance"] = near.distance.reshape(shape)
    out["far_radius"] = np.array(spacing.far_radius)
    return out


# ---- Every default result of the bundled checkpoints -------------------------------------------


def defaults(folder: Path, cache_dir: Path | None = None) -> Iterator[tuple[str, Callable]]:
    """(name, make) of every result the pages open with, for the checkpoints in ``folder``:
    codes, the default pair study and both sample sources of every AE and VAE, and the d = 2
    models' atlases over every window choice; Home's sample grid of every model with a prior.
    The codes that name the atlases are made here when missing (kept in ``cache_dir``, by
    default the app's run-time cache)."""
    load = functools.cache(lambda name: checkpoints.load(Path(folder) / f"{name}.safetensors"))
    for name in checkpoints.discover(Path(folder)):
        if name.startswith(GRID_KINDS):
            ckpt = load(name)
            yield grid_name(ckpt, DEFAULT_SAMPLE_SEED), lambda c=ckpt: grid(c, DEFAULT_SAMPLE_SEED)
    found = readers(folder)
    if not found:
        return
    cache_dir = Path(cache_dir or warmup.checkpoint_cache(Path(folder)))
    results = store.Store(Path(folder) / SHIPPED, cache_dir / "results")
    for pair, names in compare.PAIRS.items():
        ckpts = {n: load(n) for n in names}  # the AEs and VAEs loaded once, for their grids
        for ckpt in ckpts.values():
            yield codes_name(ckpt), lambda c=ckpt: codes(c)
        code_sets = {
            n: results.get_or_make(codes_name(c), lambda c=c: codes(c)) for n, c in ckpts.items()
        }
        for name, ckpt in ckpts.items():
            held, trained = code_sets[name]["held_out"], code_sets[name]["trained"]
            yield (
                paths_name(ckpt, found, DEFAULT_PAIRS, DEFAULT_PAIR_SEED),
                lambda c=ckpt, h=held: paths(c, found, h, DEFAULT_PAIRS, DEFAULT_PAIR_SEED),
            )
            sources = ("prior", "fitted") if ckpt.config.kind == "ae" else ("prior",)
            for source in sources:
                yield (
                    samples_name(ckpt, found, source, DEFAULT_SAMPLE_SEED),
                    lambda c=ckpt, t=trained, s=source: samples(c, found, t, s, 0),
                )
        if pair != "2d":
            continue
        held_codes = {n: code_sets[n]["held_out"] for n in names}
        for choice in compare.ATLAS_WINDOWS:
            windows = compare.atlas_windows(held_codes, choice)
            for name, ckpt in ckpts.items():
                trained = code_sets[name]["trained"]
                yield (
                    atlas_name(ckpt, found, windows[name]),
                    lambda c=ckpt, t=trained, w=windows[name]: atlas(c, found, t, w),
                )


def main(argv: list[str]) -> int:
    """Write every default result into checkpoints/precomputed/ (kept ones are kept), then the
    run-time caches' files a first view reads (:func:`explorer.seeds.write`)."""
    from explorer import seeds

    folder = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "checkpoints"
    shipped = folder / SHIPPED
    shipped.mkdir(exist_ok=True)
    results = store.Store(shipped, warmup.checkpoint_cache(folder) / "results")
    wanted = []
    for name, make in defaults(folder):
        wanted.append(name)
        if not (shipped / f"{name}.npz").is_file():
            arrays = results.get(name) or make()
            np.savez_compressed(shipped / f"{name}.npz", **arrays)
            print(f"wrote {name}", flush=True)
    for stale in sorted(p for p in shipped.glob("*.npz") if p.stem not in wanted):
        stale.unlink()
        print(f"removed {stale.name} (no bundled checkpoint uses it)")
    seeds.write(folder, say=lambda text: print(text, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
