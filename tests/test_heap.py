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
    kept = []

    def burst():  # like a session's script thread: many mid-sized tensors, then gone
        tensors = [torch.ones(16 * 1024) for _ in range(6000)]  # 64 KB each, ~375 MB
        kept.extend(tensors[::100])  # a few survive, so the arena cannot shrink from its top

    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()
    gc.collect()
    before = _rss_mb()
    assert heap.trim()
    after = _rss_mb()
    assert before - after > 200, (before, after)


def test_trimmer_thread_runs_and_rejects_a_bad_interval():
    with pytest.raises(ValueError, match="positive"):
        heap.start_trimmer(0)
    thread = heap.start_trimmer(0.05)
    assert thread.is_alive() and thread.daemon
    thread.stop.set()
    thread.join(2)
    assert not thread.is_alive()
