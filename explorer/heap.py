"""Give freed heap memory back to the operating system (glibc's ``malloc_trim``).

glibc's malloc keeps what threads free inside its arenas (one per thread, up to 8 per core), so
a server's RSS stays near its peak after a burst of sessions ends although none of that memory
is in use. ``malloc_trim(0)`` returns the free pages of every arena to the kernel (glibc manual,
"Memory Allocation Tunables" and malloc_trim(3)). On other C libraries this module does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import threading

# The app server's period (a trim takes milliseconds); LATENT_EXPLORER_TRIM_S shortens it for tests.
TRIM_INTERVAL_S = float(os.environ.get("LATENT_EXPLORER_TRIM_S", "15"))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError, TypeError):  # not glibc, or no C library found
        return None


def trim() -> bool:
    """Release free heap pages now; True where glibc gave memory back (False: nothing to give,
    or not glibc)."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def start_trimmer(interval_s: float) -> threading.Thread | None:
    """A daemon thread that calls :func:`trim` every ``interval_s`` seconds (None off glibc)."""
    if _libc() is None:
        return None
    if interval_s <= 0:
        raise ValueError(f"interval must be positive, got {interval_s}")
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            trim()

    thread = threading.Thread(target=loop, name="heap-trimmer", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
