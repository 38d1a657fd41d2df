"""A server's start (explorer/warmup.py, explorer/seeds.py): the cache folders a bench moves, the
shipped files seeded into them, the warm-up that makes each missing result once and nothing when
all is there, and pages that stay correct while results are missing."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from explorer import (
    attributes,
    mapfiles,
    maps,
    onnx_export,
    precompute,
    projection,
    seeds,
    store,
    warmup,
)
from tests.conftest import ROOT, python_output

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
    found = python_output(code, LATENT_EXPLORER_CACHE=str(tmp_path)).splitlines()
    assert found == [str(tmp_path), str(tmp_path / "checkpoints")]


@pytest.mark.slow
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


def test_listing_and_checking_a_step_wait_for_the_pages_too(monkeypatch, tmp_path):
    """Listing a step loads a checkpoint and checking it may encode the digits: seconds of
    Python that once ran beside a fresh server's first page and slowed it. Nothing of the
    warm-up runs while a page does."""
    state = {"calls": 0, "page": True}
    seen = []

    def busy():
        state["calls"] += 1
        if state["calls"] > 3:
            state["page"] = False
        return state["page"]

    def done(name: str) -> bool:
        seen.append(("checked", name, state["page"]))
        return True  # already there: nothing to make

    def listed(*args, **kwargs):
        for name in ("a", "b"):
            seen.append(("listed", name, state["page"]))
            yield warmup.Step(name, lambda n=name: done(n), lambda: None)

    monkeypatch.setattr(warmup, "steps", listed)
    warmup.run(tmp_path, tmp_path, busy=busy, say=lambda _: None)
    order = [f"{what} {name}" for what, name, _ in seen]
    assert order == ["listed a", "checked a", "listed b", "checked b"]
    assert not any(page for *_, page in seen)


def test_the_warm_up_child_stops_between_steps_once_its_server_has_gone(monkeypatch, tmp_path):
    """The warm-up runs in a child process (a thread shared the interpreter with the pages);
    when the server ends, its child makes nothing more."""
    listed = []

    def steps(*args, **kwargs):
        for name in ("a", "b"):
            listed.append(name)
            yield warmup.Step(name, lambda: False, lambda: None)

    monkeypatch.setattr(warmup, "steps", steps)
    gone = iter([False, True])
    assert warmup.run(tmp_path, tmp_path, stop=lambda: next(gone), say=pytest.fail) == ["a"]
    assert listed == ["a"]
    # The bundled models with an empty cache: attribute directions and maps to make, minutes of
    # work, and none of it done for a server that has gone.
    folder = str(ROOT / "checkpoints")
    out = python_output(
        f"from explorer import warmup; warmup.main([{folder!r}, {str(tmp_path)!r}, "
        "'--no-export', '--parent', '999999999'])"
    )
    assert out.strip() == "warm-up: made 0 result(s)"


def test_quiet_pays_its_period_once_while_no_page_runs():
    quiet = warmup.Quiet(lambda: False, quiet_s=0.3, most_s=5.0)
    began = time.monotonic()
    quiet.wait()
    first = time.monotonic() - began
    quiet.wait()
    assert first >= 0.3 and time.monotonic() - began - first < 0.1


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
