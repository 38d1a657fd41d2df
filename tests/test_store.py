"""The result store (shipped, then a capped run-time cache) and the queue of custom studies."""

import os
import threading
import time

import numpy as np
import pytest

from explorer import jobs, store


def _arrays(n: int = 10) -> dict[str, np.ndarray]:
    return {"a": np.arange(n, dtype=np.float32)}


def test_keys_name_kind_version_and_inputs():
    assert store.key("pairs", 2, "sha", 200, 0).startswith("pairs-v2-")
    assert store.key("pairs", 2, "sha", 200, 0) == store.key("pairs", 2, "sha", 200, 0)
    assert store.key("pairs", 2, "sha", 200, 1) != store.key("pairs", 2, "sha", 200, 0)
    assert store.key("pairs", 3, "sha", 200, 0) != store.key("pairs", 2, "sha", 200, 0)


def test_shipped_results_come_first_and_corrupt_files_are_missing(tmp_path):
    shipped, cache = tmp_path / "shipped", tmp_path / "cache"
    shipped.mkdir()
    np.savez(shipped / "x.npz", a=np.ones(3))
    results = store.Store(shipped, cache)
    results.put("x", {"a": np.zeros(3)})
    assert results.get("x")["a"].tolist() == [1, 1, 1]
    (cache / "y.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert results.get("y") is None
    calls = []
    made = results.get_or_make("y", lambda: calls.append(1) or _arrays(4))
    assert made["a"].tolist() == [0, 1, 2, 3] and results.get("y")["a"].tolist() == [0, 1, 2, 3]
    assert calls == [1]


def test_the_cache_keeps_under_its_cap_dropping_what_was_read_longest_ago(tmp_path):
    results = store.Store(tmp_path / "none", tmp_path / "cache", cap_bytes=10**9)
    for name in "abcd":
        results.put(name, _arrays(10_000))  # ~40 kB each
    size = (tmp_path / "cache" / "a.npz").stat().st_size
    past = time.time() - 100
    for i, name in enumerate("abcd"):
        os.utime(tmp_path / "cache" / f"{name}.npz", (past + i, past + i))
    results.get("a")  # read now: the newest
    results.cap_bytes = 3 * size
    assert results.evict() == ["b"]
    assert sorted(p.stem for p in (tmp_path / "cache").glob("*.npz")) == ["a", "c", "d"]


def _queue(tmp_path, **kw) -> jobs.JobQueue:
    return jobs.JobQueue(store.Store(tmp_path / "shipped", tmp_path / "cache"), **kw)


def _until(queue: jobs.JobQueue, name: str, state: str) -> None:
    deadline = time.time() + 10
    while queue.status(name).state != state and time.time() < deadline:
        time.sleep(0.01)
    assert queue.status(name).state == state


def test_jobs_run_one_at_a_time_in_order_and_report_their_place(tmp_path):
    queue = _queue(tmp_path)
    gate, order = threading.Event(), []

    def make(name):
        def run():
            gate.wait(10)
            order.append(name)
            return _arrays()

        return run

    assert queue.submit("one", make("one"), "s1").state == "waiting"
    _until(queue, "one", "running")
    assert queue.submit("two", make("two"), "s2") == jobs.Status("waiting", 1)
    assert queue.submit("three", make("three"), "s3") == jobs.Status("waiting", 2)
    assert queue.status("one").state == "running"
    assert queue.submit("two", make("two"), "s4") == jobs.Status("waiting", 1)  # shared, not again
    gate.set()
    for name in ("one", "two", "three"):
        _until(queue, name, "done")
    assert order == ["one", "two", "three"]
    assert queue.submit("one", make("one"), "s1").state == "done"  # stored: no job at all


def test_an_owner_gets_one_queued_job_and_a_rate_and_the_queue_a_length(tmp_path):
    queue = _queue(tmp_path, max_waiting=2, per_window=2, window_s=60)
    gate = threading.Event()
    queue.submit("slow", lambda: gate.wait(10) and _arrays(), "teacher")
    _until(queue, "slow", "running")
    with pytest.raises(jobs.Refused, match="One custom study at a time"):
        queue.submit("mine-2", _arrays, "teacher")
    queue.submit("a", _arrays, "s1")
    queue.submit("b", _arrays, "s2")
    with pytest.raises(jobs.Refused, match="other students' custom studies"):
        queue.submit("c", _arrays, "s3")
    gate.set()
    _until(queue, "b", "done")
    queue.submit("a2", _arrays, "s1")  # s1's second in the window
    _until(queue, "a2", "done")
    with pytest.raises(jobs.Refused, match="Too many custom studies"):
        queue.submit("a3", _arrays, "s1")


def test_a_failed_job_says_why_and_the_queue_goes_on(tmp_path):
    queue = _queue(tmp_path)

    def broken():
        raise MemoryError("too big")

    queue.submit("bad", broken, "s1")
    queue.submit("good", _arrays, "s2")
    _until(queue, "good", "done")
    assert queue.status("bad") == jobs.Status("failed", error="MemoryError: too big")
