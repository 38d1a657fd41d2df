"""The AE vs VAE page's computed results, served so that no link can cost the server more than
a bounded amount: defaults from the shipped results (or computed once, in the background, at
the server's start), custom settings through one server-wide queue with each student's place in
it (explorer.jobs), everything kept as plain arrays by explorer.store.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from explorer import jobs, precompute, store
from explorer.checkpoints import Checkpoint
from explorer.ui import cache, training

READER_LABELS = {"classifier": "Reader A (CNN)", "classifier_mlp": "Reader B (MLP)"}


@st.cache_resource
def results() -> store.Store:
    """One per server: the shipped results, then the capped run-time cache."""
    return store.Store(cache.CHECKPOINT_DIR / precompute.SHIPPED, cache.CACHE_DIR / "results")


@st.cache_resource
def queue() -> jobs.JobQueue:
    """One per server: custom studies run one at a time (explorer.jobs)."""
    return jobs.JobQueue(results())


@st.cache_resource(show_spinner=False, max_entries=24)
def _read(name: str) -> dict[str, np.ndarray] | None:
    return results().get(name)


def sample_grid(ckpt: Checkpoint, seed: int) -> bytes:
    """Home's 64 samples as a PNG: at the default seed, the shipped grid (made once and kept
    where it is missing: a retrained checkpoint); at another seed, drawn now."""
    if seed != precompute.DEFAULT_SAMPLE_SEED:
        return cache.sample_grid(ckpt.name, ckpt.sha256, seed)
    name = precompute.grid_name(ckpt, seed)
    arrays = _read(name) or results().get_or_make(name, lambda: precompute.grid(ckpt, seed))
    return arrays["png"].tobytes()


def readers() -> dict[str, Checkpoint]:
    found = {}
    for name in precompute.READERS:
        if (cache.CHECKPOINT_DIR / f"{name}.safetensors").is_file():
            ckpt = cache.load_or_explain(name)
            if ckpt is not None:
                found[name] = ckpt
    return found


Request = tuple[str, Callable[[], dict]]  # a result's name and how to compute it


def fetch(wanted: list[Request], default: bool) -> list[dict[str, np.ndarray]] | None:
    """The arrays of every wanted result. Defaults are computed here when missing (normally
    they are shipped or warmed at start); other settings go through the queue as one job: None
    while it waits, with the student's place in it shown here."""
    found = [_read(name) for name, _ in wanted]
    if all(f is not None for f in found):
        return found
    missing = [(name, make) for (name, make), f in zip(wanted, found, strict=True) if f is None]
    if default:
        with st.spinner("Computing this view once for this checkpoint…"):
            for name, make in missing:
                results().get_or_make(name, make)
        _read.clear()
        return [_read(name) for name, _ in wanted]
    job = store.key("job", 1, *(name for name, _ in missing))

    def make_all() -> dict:
        for name, make in missing:
            results().get_or_make(name, make)
        return {"results": np.array([name for name, _ in missing])}

    try:
        status = queue().submit(job, make_all, training.browser_id())
    except jobs.Refused as err:
        st.warning(str(err), icon=":material/hourglass:")
        return None
    if status.state == "done":
        _read.clear()
        return [_read(name) for name, _ in wanted]
    _wait(job)
    return None


def _wait(name: str) -> None:
    """A note that follows the job's place in the queue and reruns the page when it is done."""

    @st.fragment(run_every=1.0)
    def note() -> None:
        status = queue().status(name)
        if status.state == "done":
            _read.clear()
            st.rerun()
        elif status.state == "failed":
            st.error(f"This study could not be measured ({cache.hide_paths(status.error or '')}).")
        elif status.state == "running":
            st.info("Measuring your custom settings now (one custom study runs at a time).")
        else:
            st.info(
                f"Your custom settings are number {status.place} in the server's queue: custom "
                "studies run one at a time, so the other students' pages stay quick. The "
                "default settings are ready at once."
            )

    note()


def codes(ckpt: Checkpoint) -> dict[str, np.ndarray]:
    """A model's held-out and training codes (default: shipped or computed here)."""
    return fetch([(precompute.codes_name(ckpt), lambda: precompute.codes(ckpt))], True)[0]


def paths(ckpts: list[Checkpoint], n_pairs: int, seed: int) -> list[dict] | None:
    """Each model's study of the same pairs (one job for all of them, when queued)."""
    found = readers()
    wanted = []
    for ckpt in ckpts:
        held = codes(ckpt)["held_out"]
        wanted.append(
            (
                precompute.paths_name(ckpt, found, n_pairs, seed),
                lambda c=ckpt, h=held: precompute.paths(c, found, h, n_pairs, seed),
            )
        )
    default = (n_pairs, seed) == (precompute.DEFAULT_PAIRS, precompute.DEFAULT_PAIR_SEED)
    return fetch(wanted, default)


def samples(rows: list[tuple[Checkpoint, str]], seed: int) -> list[dict] | None:
    """Samples of each (model, source) from the same seed (one job, when queued)."""
    found = readers()
    wanted = []
    for ckpt, source in rows:
        trained = codes(ckpt)["trained"]
        wanted.append(
            (
                precompute.samples_name(ckpt, found, source, seed),
                lambda c=ckpt, t=trained, s=source: precompute.samples(c, found, t, s, seed),
            )
        )
    return fetch(wanted, seed == precompute.DEFAULT_SAMPLE_SEED)


def atlas(ckpt: Checkpoint, window: tuple[float, float]) -> dict[str, np.ndarray]:
    """A d = 2 model's plane over one of its three windows (all precomputed)."""
    found = readers()
    trained = codes(ckpt)["trained"]
    name = precompute.atlas_name(ckpt, found, window)
    return fetch([(name, lambda: precompute.atlas(ckpt, found, trained, window))], True)[0]
