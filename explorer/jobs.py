"""Expensive requests a link can make, run one at a time, in order, on one background thread.

A link can ask the AE vs VAE page for a study of 1,000 pairs with a new seed: about 40 s of a
core and a few hundred MB. Run in the session that asked, four such links took both cores and
2 GB. Here each such request is a job: results already stored are served at once; otherwise the
job waits in one server-wide queue (each student sees their place in it), at most
``max_waiting`` jobs wait, each owner (a browser) may have one job queued and ``per_window``
jobs per ``window_s`` seconds, and the one worker thread runs at a lower CPU priority, so the
pages of the other students keep the machine.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from explorer.store import Store


def lower_priority(niceness: int = 10) -> None:
    """Give the calling thread a lower CPU priority (Linux sets niceness per thread), so the
    pages of the students come first; elsewhere nothing happens."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


class Refused(RuntimeError):
    """A job that is not queued: the queue is full, or its owner asked too often. The message
    says which, for the student."""


@dataclass
class Job:
    name: str
    make: Callable[[], dict]
    owner: str
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


@dataclass(frozen=True)
class Status:
    """Where a job stands: ``state`` is "done", "running", "waiting" (``place`` 1 is next) or
    "failed" (``error`` says why)."""

    state: str
    place: int = 0
    error: str | None = None


class JobQueue:
    def __init__(
        self,
        store: Store,
        max_waiting: int = 8,
        per_window: int = 6,
        window_s: float = 600.0,
        niceness: int = 10,
    ) -> None:
        self.store, self.max_waiting = store, max_waiting
        self.per_window, self.window_s, self.niceness = per_window, window_s, niceness
        self._lock = threading.Lock()
        self._waiting: deque[Job] = deque()
        self._running: Job | None = None
        self._failed: dict[str, str] = {}
        self._asked: dict[str, deque[float]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, name: str, make: Callable[[], dict], owner: str) -> Status:
        """Queue ``make`` (which computes the arrays stored under ``name``) unless its result is
        stored or already on its way; Refused when the queue is full or ``owner`` has a job
        queued or asked ``per_window`` times in the last ``window_s`` seconds."""
        if self.store.get(name) is not None:
            return Status("done")
        with self._lock:
            found = self._status(name)
            if found is not None:
                return found
            if len(self._waiting) >= self.max_waiting:
                raise Refused(
                    "The server is measuring other students' custom studies; try again in a "
                    "minute, or use the default settings, which are ready at once."
                )
            if any(job.owner == owner for job in self._queued()):
                raise Refused("One custom study at a time: yours is still being measured.")
            asked = self._asked.setdefault(owner, deque())
            now = time.monotonic()
            while asked and now - asked[0] > self.window_s:
                asked.popleft()
            if len(asked) >= self.per_window:
                wait = int(self.window_s - (now - asked[0])) + 1
                raise Refused(f"Too many custom studies from this browser: try again in {wait} s.")
            asked.append(now)
            self._failed.pop(name, None)
            self._waiting.append(Job(name, make, owner))
            self._start()
            self._wake.set()
            return Status("waiting", len(self._waiting))

    def status(self, name: str) -> Status:
        if self.store.get(name) is not None:
            return Status("done")
        with self._lock:
            return self._status(name) or Status("failed", error="not queued")

    def _status(self, name: str) -> Status | None:
        if self._running is not None and self._running.name == name:
            return Status("running")
        for place, job in enumerate(self._waiting, start=1):
            if job.name == name:
                return Status("waiting", place)
        if name in self._failed:
            return Status("failed", error=self._failed[name])
        return None

    def _queued(self) -> list[Job]:
        return [*self._waiting, *([self._running] if self._running else [])]

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._work, name="study-jobs", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        lower_priority(self.niceness)
        while True:
            with self._lock:
                job = self._waiting.popleft() if self._waiting else None
                self._running = job
                if job is None:
                    self._wake.clear()
            if job is None:
                self._wake.wait(timeout=60)
                continue
            try:
                self.store.put(job.name, job.make())
                if self.store.get(job.name) is None:
                    raise OSError("the result could not be kept")
            except Exception as err:  # one failed job must not stop the queue
                with self._lock:
                    self._failed[job.name] = f"{type(err).__name__}: {err}"
            finally:
                with self._lock:
                    self._running = None
                job.done.set()
