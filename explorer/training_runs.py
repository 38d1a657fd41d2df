"""Training runs in the app (the KL / ELBO page's live training, not the live control of the
sliders): background runs with caps, and metrics log readers.

A run trains a small VAE with :func:`explorer.train.run` in a daemon thread, writing the same
metrics JSONL a command-line run writes, so one reader serves both. On a shared server:

- Caps: one live run per owner (a browser, not a tab, where the page can tell),
  ``RUNS_PER_ADDRESS`` per client address (a browser whose cookies were cleared is a new owner
  but the same address; by default one address never holds every slot) and ``MAX_RUNS`` on the
  server; beyond that :class:`CapacityError` says which. A class behind one NAT or a reverse
  proxy shares one address: raise ``LATENT_EXPLORER_RUNS_PER_ADDRESS`` there.
- Owned by a live client: a watchdog stops a run once none of its owner's sessions has been
  connected for ``OWNER_GRACE_S`` seconds (a closed tab frees its slot; a reload keeps the run,
  and the reloaded page finds it and can stop it).
- The operator stops any run with ``python -m explorer.training_runs stop [NAME]`` (a STOP file in
  the run's folder, which the watchdog honours).
- Disk: in-app runs write no resume state, and only the newest ``KEEP_LIVE_DIRS`` finished
  ``live-*`` folders are kept.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from explorer import train, trainstate

MAX_RUNS = int(os.environ.get("LATENT_EXPLORER_MAX_RUNS", "2"))
RUNS_PER_ADDRESS = int(
    os.environ.get("LATENT_EXPLORER_RUNS_PER_ADDRESS", str(max(1, MAX_RUNS - 1)))
)
OWNER_GRACE_S = float(os.environ.get("LATENT_EXPLORER_OWNER_GRACE_S", "30"))
KEEP_LIVE_DIRS = 8  # finished in-app run folders kept (about 2 MB each without resume state)
WATCH_INTERVAL_S = 1.0
STOP_FILE = "STOP"
LIVE_PREFIX = "live-"


class CapacityError(RuntimeError):
    """No room for another live run; the message is meant for the user."""


@dataclass
class LiveRun:
    args: train.TrainArgs
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: str = ""
    finished: bool = False
    sessions: set[str] = field(default_factory=set)  # the owner's Streamlit sessions seen
    last_seen: float = field(default_factory=time.monotonic)
    stop_reason: str = ""
    address: str = ""  # the client address that started it ("" where unknown)

    @property
    def name(self) -> str:
        return Path(self.args.run_dir).name

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
            self.error = self.stop_reason or "stopped"
        except Exception as err:  # reported on the page, never raised into the server
            self.error = hide_paths(f"{type(err).__name__}: {err}", Path(self.args.run_dir))
        finally:
            if self.error:  # readers of the log (Follow a run) see that it ended here
                trainstate.log_end(self.metrics_path, self.error)
            self.finished = True


class LiveRuns:
    """Registry of live runs by owner, thread-safe, with per-owner and server caps, and a
    watchdog that stops runs whose owner has gone or that the operator asked to stop."""

    def __init__(
        self,
        max_runs: int = MAX_RUNS,
        is_connected: Callable[[str], bool] | None = None,
        grace_s: float = OWNER_GRACE_S,
        per_address: int = RUNS_PER_ADDRESS,
    ) -> None:
        self.max_runs = max_runs
        self.per_address = per_address
        self.grace_s = grace_s
        self._is_connected = is_connected or (lambda session: False)
        self._runs: dict[str, LiveRun] = {}
        self._names: dict[str, set[str]] = {}  # every run folder each owner started
        self._lock = threading.Lock()
        self._watchdog: threading.Thread | None = None

    def get(self, owner: str) -> LiveRun | None:
        with self._lock:
            return self._runs.get(owner)

    def active(self) -> int:
        with self._lock:
            return sum(run.running for run in self._runs.values())

    def names(self, owner: str) -> set[str]:
        """Folder names of the runs this owner started."""
        with self._lock:
            return set(self._names.get(owner, ()))

    def start(
        self, owner: str, args: train.TrainArgs, session: str = "", address: str = ""
    ) -> LiveRun:
        with self._lock:
            mine = self._runs.get(owner)
            if mine is not None and mine.running:
                raise CapacityError("You already have a live run; stop it before starting another.")
            here = sum(run.running and run.address == address for run in self._runs.values())
            if address and here >= self.per_address:
                raise CapacityError(
                    f"Your network address already has {here} live run"
                    f"{'s' if here > 1 else ''} (the limit per address is {self.per_address}); "
                    "stop it, or try again when it finishes."
                )
            busy = sum(run.running for run in self._runs.values())
            if busy >= self.max_runs:
                raise CapacityError(
                    f"The server is already training {busy} live runs (the limit is "
                    f"{self.max_runs}); try again when one finishes."
                )
            run = LiveRun(args, sessions={session} if session else set(), address=address)
            run.thread = threading.Thread(target=run._target, daemon=True, name=f"live-{owner}")
            self._runs[owner] = run
            self._names.setdefault(owner, set()).add(run.name)
            run.thread.start()
            if self._watchdog is None or not self._watchdog.is_alive():
                self._watchdog = threading.Thread(
                    target=self._watch, daemon=True, name="live-watch"
                )
                self._watchdog.start()
            return run

    def stop(self, owner: str, reason: str = "stopped") -> None:
        run = self.get(owner)
        if run is not None and not run.stop.is_set():
            run.stop_reason = reason
            run.stop.set()

    def seen(self, owner: str, session: str) -> None:
        """The owner is here, in Streamlit session ``session`` (called on each page run)."""
        with self._lock:
            run = self._runs.get(owner)
            if run is not None:
                run.sessions.add(session)
                run.last_seen = time.monotonic()

    def reap(self, now: float | None = None) -> list[str]:
        """Stop runs whose owner has had no connected session for ``grace_s`` seconds, and runs
        with a STOP file; returns the owners stopped."""
        now = time.monotonic() if now is None else now
        stopped = []
        with self._lock:
            runs = [(owner, run) for owner, run in self._runs.items() if run.running]
        for owner, run in runs:
            if any(self._is_connected(session) for session in list(run.sessions)):
                run.last_seen = now
            if (Path(run.args.run_dir) / STOP_FILE).exists():
                self.stop(owner, "stopped by the server's operator")
                stopped.append(owner)
            elif now - run.last_seen > self.grace_s:
                self.stop(owner, f"stopped: its page was closed for over {self.grace_s:g} s")
                stopped.append(owner)
        return stopped

    def _watch(self) -> None:
        while True:  # one daemon thread per server; a check a second costs nothing
            self.reap()
            time.sleep(WATCH_INTERVAL_S)


def prune_live_dirs(
    folder: Path, keep: int = KEEP_LIVE_DIRS, running: set[str] = frozenset()
) -> list[str]:
    """Delete all but the newest ``keep`` in-app run folders (``live-*``) not in ``running``;
    returns the names deleted. Command-line runs are never touched."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{LIVE_PREFIX}*") if p.is_dir() and p.name not in running]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    deleted = []
    for path in found[keep:]:
        shutil.rmtree(path, ignore_errors=True)
        deleted.append(path.name)
    return deleted


def visible_runs(folder: Path, own: set[str], share: bool = False) -> dict[str, Path]:
    """Runs a student may follow: command-line runs (the operator's), their own in-app runs,
    and everyone's in-app runs only when the server opts in (``share``)."""
    return {
        name: path
        for name, path in discover_runs(folder).items()
        if share or not name.startswith(LIVE_PREFIX) or name in own
    }


def request_stop(folder: Path, name: str | None = None) -> list[str]:
    """Ask the server to stop in-app run ``name`` (all of them without one): writes a STOP file
    the watchdog honours within a second or two. Returns the runs asked.

    ``name`` must be the name of an in-app run folder (``live-…``) directly in ``folder``: a
    path, ``..``, or a link that leads out of it raises ValueError, and nothing is written."""
    folder = Path(folder)
    if name is None:
        targets = sorted(folder.glob(f"{LIVE_PREFIX}*"))
    else:
        if not _is_run_name(name):
            raise ValueError(
                f"{name[:80]!r} is not an in-app run's name: give a folder name such as "
                f"{LIVE_PREFIX}1a2b3c4d-20250101-120000 from {folder}"
            )
        targets = [folder / name]
    asked = []
    inside = folder.resolve()
    for path in targets:
        if path.is_dir() and path.resolve().parent == inside:
            (path / STOP_FILE).touch()
            asked.append(path.name)
    return asked


def _is_run_name(name: str) -> bool:
    """A plain ``live-…`` folder name: no separators, no ``..``, nothing absolute."""
    return (
        name.startswith(LIVE_PREFIX)
        and Path(name).name == name
        and "/" not in name
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
        and ".." not in name
    )


def read_metrics(path: Path) -> tuple[list[dict], list[dict]]:
    """(step records, epoch records) of a metrics JSONL; a half-written last line and the
    run's closing "test" record are skipped."""
    steps: list[dict] = []
    epochs: list[dict] = []
    for record in trainstate.records(path):
        if record.get("type") == "epoch":
            epochs.append(record)
        elif record.get("type", "step") == "step":  # the final "test" record is for the log
            steps.append(record)
    return steps, epochs


def discover_runs(folder: Path) -> dict[str, Path]:
    """Metrics logs under ``folder`` (``runs/<name>/metrics.jsonl``) by run name, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    logs = sorted(folder.glob("*/metrics.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    return {p.parent.name: p for p in logs}


# An absolute path in a message: a "/" that starts a word, then path characters (no spaces).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/-])/[^\s'\"]+")


def hide_paths(text: str, run_dir: Path | None = None) -> str:
    """``text`` with no absolute server path: the run's folder as ``<its parent's name>/<its
    name>`` (``runs/live-…``), any other absolute path as its last part (``…/vae.safetensors``),
    so a live run's error never shows a student where files live on the server."""
    if run_dir is not None:
        run_dir = Path(run_dir)
        shown = f"{run_dir.absolute().parent.name}/{run_dir.name}"
        for form in sorted({str(run_dir.absolute()), str(run_dir.resolve())}, key=len)[::-1]:
            text = text.replace(form, shown)
    return _ABSOLUTE_PATH.sub(lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def main(argv: list[str] | None = None) -> int:
    """``python -m explorer.training_runs stop [NAME]``: the operator stops in-app runs."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "stop" or len(argv) > 2:
        print("usage: python -m explorer.training_runs stop [NAME]", file=sys.stderr)
        return 2
    folder = Path(
        os.environ.get("LATENT_EXPLORER_RUNS", Path(__file__).resolve().parents[1] / "runs")
    )
    try:
        asked = request_stop(folder, argv[1] if len(argv) == 2 else None)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"asked {len(asked)} run(s) to stop: {', '.join(asked) or 'none found'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
