"""explorer.heap: freed heap memory goes back to the operating system."""

import gc
import threading

import psutil
import pytest
import torch

from explorer import heap

pytestmark = pytest.mark.skipif(heap._libc() is None, reason="needs glibc's malloc_trim")


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def test_trim_returns_memory_a_finished_thread_freed():
    kept, peak = [], []

    def burst():  # like a session's script thread: many mid-sized tensors, then gone
        tensors = [torch.ones(16 * 1024) for _ in range(6000)]  # 64 KB each, ~375 MB
        kept.extend(tensors[::100])  # a few survive, so the arena cannot shrink from its top
        peak.append(_rss_mb())

    gc.collect()
    heap.trim()
    base = _rss_mb()
    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()
    gc.collect()
    assert heap.trim()
    after = _rss_mb()
    # Measured from before the burst: a page's trimmer thread (explorer.ui, started by AppTest
    # tests in this process) may call trim() first, which is the same release.
    assert peak[0] - base > 300, (base, peak)
    assert after - base < 100, (base, peak, after)


def test_trimmer_thread_runs_and_rejects_a_bad_interval():
    with pytest.raises(ValueError, match="positive"):
        heap.start_trimmer(0)
    thread = heap.start_trimmer(0.05)
    assert thread.is_alive() and thread.daemon
    thread.stop.set()
    thread.join(2)
    assert not thread.is_alive()
