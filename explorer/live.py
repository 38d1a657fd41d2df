"""Live training for the KL / ELBO page: background runs with caps, and metrics log readers.

A run trains a small VAE with :func:`explorer.train.run` in a daemon thread, writing the same
metrics JSONL a command-line run writes, so one reader serves both. Caps: one live run per
session and ``MAX_RUNS`` on the server; beyond that :class:`CapacityError` says which.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from explorer import train

MAX_RUNS = 2


class CapacityError(RuntimeError):
    """No room for another live run; the message is meant for the user."""


@dataclass
class LiveRun:
    args: train.TrainArgs
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: str = ""
    finished: bool = False

    @property
    def metrics_path(self) -> Path:
        return Path(self.args.run_dir) / "metrics.jsonl"

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _target(self) -> None:
        torch.set_num_threads(1)  # leave the other core to the sessions being served
        try:
            train.run(self.args, stop=self.stop)
        except train.TrainingStopped:
            self.error = "stopped"
        except Exception as err:  # reported on the page, never raised into the server
            self.error = f"{type(err).__name__}: {err}"
        finally:
            self.finished = True


class LiveRuns:
    """Registry of live runs by session id, thread-safe, with per-session and server caps."""

    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self.max_runs = max_runs
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()

    def get(self, session: str) -> LiveRun | None:
        with self._lock:
            return self._runs.get(session)

    def active(self) -> int:
        with self._lock:
            return sum(run.running for run in self._runs.values())

    def start(self, session: str, args: train.TrainArgs) -> LiveRun:
        with self._lock:
            mine = self._runs.get(session)
            if mine is not None and mine.running:
                raise CapacityError("You already have a live run; stop it before starting another.")
            busy = sum(run.running for run in self._runs.values())
            if busy >= self.max_runs:
                raise CapacityError(
                    f"The server is already training {busy} live runs (the limit is "
                    f"{self.max_runs}); try again when one finishes."
                )
            run = LiveRun(args)
            run.thread = threading.Thread(target=run._target, daemon=True, name=f"live-{session}")
            self._runs[session] = run
            run.thread.start()
            return run

    def stop(self, session: str) -> None:
        run = self.get(session)
        if run is not None:
            run.stop.set()


def read_metrics(path: Path) -> tuple[list[dict], list[dict]]:
    """(step records, epoch records) of a metrics JSONL; a half-written last line is skipped."""
    steps: list[dict] = []
    epochs: list[dict] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return steps, epochs
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            (epochs if record.get("type") == "epoch" else steps).append(record)
    return steps, epochs


def discover_runs(folder: Path) -> dict[str, Path]:
    """Metrics logs under ``folder`` (``runs/<name>/metrics.jsonl``) by run name, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    logs = sorted(folder.glob("*/metrics.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    return {p.parent.name: p for p in logs}
